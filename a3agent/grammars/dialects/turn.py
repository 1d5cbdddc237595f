"""The grammar of one whole assistant turn: think text, then text and/or tool calls.

A turn is `think? (content | content? tool_call+)` as `tool_choice` allows; a named tool_choice
leaves no room for text: the call comes right after the think block, as OpenAI's named choice does.
With thinking on the
prompt already opened `<think>`, so the turn starts inside the think text (non-empty), then
`</think>`, `\\n\\n` and the answer. Calls follow the dialect (`hermes_json.lark`,
`qwen3_xml.lark`); parallel calls are separated by `\\n`. Arguments follow each tool's JSON
Schema (`json_schema`): required parameters present, schema order. A tool's parameters object
that does not say `additionalProperties` gets no undeclared arguments: a tool function has no
place for them (nested objects keep the JSON Schema default).

Not handled here: how many think tokens are allowed (the engine's `Thinking`), and keeping
special-token spellings out of free text (the engine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from a3agent.errors import ToolChoiceError, ToolDefinitionError, UnknownDialect
from a3agent.grammars.schema.json_schema import GrammarSource, SchemaRules, with_json_primitives
from a3agent.grammars.schema.json_text import json_literal
from a3agent.grammars.schema.lark_text import lark_string, load_lark, terminal_text

__all__ = ["DIALECTS", "TurnOptions", "turn_grammar", "turn_source"]

DIALECTS = {"hermes-json": "hermes_json.lark", "qwen3-xml": "qwen3_xml.lark"}
"""Dialect name -> the lark file with its `tool_call` rule."""
_JSON_PACKAGE = "a3agent.grammars.schema"
"""Where `json.lark`, the JSON primitives the argument rules use, ships."""

_SKELETON_RULES = frozenset({"think", "tool_call", "tool_json", "tool_xml", "calls"})
_NO_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": False}


@dataclass(frozen=True)
class TurnOptions:
    """What one assistant turn may contain."""

    dialect: str = "hermes-json"
    """`hermes-json` (A3-Instruct's training format) or `qwen3-xml` (A2's)."""
    tool_choice: Literal["auto", "required", "none"] | str = "auto"
    """`auto`: text or calls; `required`: at least one call; `none`: text only; a tool name: calls to it
    only, with no text before them."""
    parallel_tool_calls: bool = True
    """Several `<tool_call>` blocks in one turn (else at most one)."""
    thinking: bool = True
    """The turn starts inside `<think>` (the prompt opened it) and must close it first."""


def turn_grammar(tools: list[dict[str, Any]], options: TurnOptions = TurnOptions()) -> str:
    """The lark grammar text of one assistant turn offering `tools` (self-contained).

    `tools`: `{"name", "description", "parameters"}` dicts (or the OpenAI `{"type": "function",
    "function": {...}}` wrapping). Raises UnknownDialect, ToolChoiceError, ToolDefinitionError,
    and the schema errors of `json_schema` (UnsupportedSchema, UnsatisfiableSchema).
    """
    head, rules, dialect = _turn(tools, options)
    return _assemble(head, rules.text() if rules else "", dialect)


def turn_source(tools: list[dict[str, Any]], options: TurnOptions = TurnOptions()) -> GrammarSource:
    """`turn_grammar`'s language as the compiler reads it: schema automata as declared terminals."""
    head, rules, dialect = _turn(tools, options)
    if rules is None:
        return GrammarSource(_assemble(head, "", dialect), {})
    text = "\n".join(p for p in (head, rules.compiled_text(), dialect, load_lark(__package__, "turn.lark")) if p)
    return with_json_primitives(text, rules.automata)


def _turn(tools: list[dict[str, Any]], options: TurnOptions) -> tuple[str, SchemaRules | None, str]:
    """The turn's head rules, the tools' schema rules (None without tools) and the dialect's text."""
    if options.dialect not in DIALECTS:
        raise UnknownDialect(f"unknown tool-call dialect {options.dialect!r}; known: {', '.join(DIALECTS)}")
    offered = _chosen_tools([_unwrap(t) for t in tools], options.tool_choice)
    think = "think " if options.thinking else ""
    if not offered:
        return f"start: {think}CONTENT\n", None, ""
    rules = SchemaRules(taken=_SKELETON_RULES)
    if options.dialect == "hermes-json":
        calls = [_hermes_call(tool, rules) for tool in offered]
        per_tool = f"tool_json: {' | '.join(calls)}\n"
    else:
        calls = [_xml_call(tool, rules) for tool in offered]
        per_tool = f"tool_xml: {' | '.join(calls)}\n"
    repeat = ' ("\\n" tool_call)*' if options.parallel_tool_calls else ""
    answer = {"auto": "CONTENT | CONTENT? calls", "required": "CONTENT? calls"}.get(options.tool_choice, "calls")
    head = f"start: {think}({answer})\ncalls: tool_call{repeat}\n{per_tool}"
    return head, rules, load_lark(__package__, DIALECTS[options.dialect])


def _unwrap(tool: dict[str, Any]) -> dict[str, Any]:
    inner = tool.get("function") if tool.get("type") == "function" else tool
    if not isinstance(inner, dict) or not isinstance(inner.get("name"), str) or not inner["name"]:
        raise ToolDefinitionError(f"a tool needs a non-empty string 'name': {tool!r}")
    return inner


def _chosen_tools(tools: list[dict[str, Any]], choice: str) -> list[dict[str, Any]]:
    names = [t["name"] for t in tools]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ToolDefinitionError(f"duplicate tool names: {', '.join(duplicates)}")
    if choice == "none":
        return []
    if choice == "required" and not tools:
        raise ToolChoiceError("tool_choice 'required' needs at least one tool")
    if choice in ("auto", "required"):
        return tools
    if choice not in names:
        raise ToolChoiceError(f"tool_choice names {choice!r}, which is not among the tools: {', '.join(names) or 'none'}")
    return [t for t in tools if t["name"] == choice]


def _hint(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "tool"


def _parameters(tool: dict[str, Any]) -> Any:
    """The tool's parameters schema, closed to undeclared arguments unless it says otherwise."""
    schema = tool.get("parameters", _NO_PARAMETERS)
    open_keys = {"additionalProperties", "patternProperties", "unevaluatedProperties"}
    if isinstance(schema, dict) and "properties" in schema and not open_keys & schema.keys():
        return {**schema, "additionalProperties": False}
    return schema


def _hermes_call(tool: dict[str, Any], rules: SchemaRules) -> str:
    arguments = rules.add(_parameters(tool), _hint(tool["name"]) + "_args")
    name = terminal_text(json_literal(tool["name"]))
    return f'{name} COMMA "\\"arguments\\"" COLON {arguments}'


def _xml_call(tool: dict[str, Any], rules: SchemaRules) -> str:
    if any(c in tool["name"] for c in "<>\n"):
        raise ToolDefinitionError(f"tool name {tool['name']!r} cannot be written as <function=NAME>")
    parameters = rules.add_xml_arguments(_parameters(tool), _hint(tool["name"]))
    opening = lark_string(f"<function={tool['name']}>\n")
    return f"({opening} {parameters})" if parameters else opening


def _assemble(head: str, rules: str, dialect: str) -> str:
    parts = [head, rules, dialect, load_lark(__package__, "turn.lark"), load_lark(_JSON_PACKAGE, "json.lark")]
    return "\n".join(p for p in parts if p)
