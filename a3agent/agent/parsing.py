"""Split one generated turn into thinking, answer text and tool calls, per dialect.

Structure is read only from real special tokens: `parse_turn` takes the decode loop's pieces, where
each generated special token is a `SpecialToken`, so a `<tool_call>` the model spelled out of ordinary
tokens stays text and never runs. (A plain string is read as trusted text: every marker spelling in
it is structure.)

The turn may come from an unconstrained model, so nothing here raises on what the model wrote: a call
that cannot be read (bad JSON, an unknown tool, a block never closed, an HTTP request drafted where a
call belongs) becomes a `MalformedCall` whose message goes back to the model as a tool error.

Dialects (DESIGN.md):
- `hermes-json`: `<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`
- `qwen3-xml`: `<tool_call>\\n<function=NAME>\\n<parameter=KEY>\\nVALUE\\n</parameter>\\n</function>\\n</tool_call>`;
  a VALUE is raw text where the parameter admits only strings; otherwise JSON, or raw text
  read as a string where the schema also admits strings (as the grammar allows).

Not handled here: validating arguments against the schema (the toolbox does, before invoking), and
streaming (`streaming.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from a3agent.agent.messages import ToolCallPart
from a3agent.model.decode import SpecialToken
from a3agent.tools.schema_cycles import ref_target  # the resolver the tool definitions are checked with

__all__ = [
    "THINK_OPEN",
    "THINK_CLOSE",
    "CALL_OPEN",
    "CALL_CLOSE",
    "MalformedCall",
    "ParsedTurn",
    "parse_turn",
    "trusted_pieces",
    "drafts_request",
]

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
MARKERS = (THINK_OPEN, THINK_CLOSE, CALL_OPEN, CALL_CLOSE)

_HERMES_FORM = '<tool_call>\n{"name": "TOOL", "arguments": {...}}\n</tool_call>'
_XML_FORM = "<tool_call>\n<function=TOOL>\n<parameter=NAME>\nVALUE\n</parameter>\n</function>\n</tool_call>"
_DRAFTED_REQUEST = re.compile(r"^\s*(GET|POST|PUT|PATCH|DELETE|HEAD)\s+https?://\S+", re.MULTILINE)
_FUNCTION = re.compile(r"<function=([^>\n]*)>(.*?)</function>", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\n]*)>(.*?)</parameter>", re.DOTALL)
_MARKER_SPLIT = re.compile("(" + "|".join(map(re.escape, MARKERS)) + ")")


@dataclass(frozen=True)
class MalformedCall:
    """Output that meant to be a call but cannot be run; `message` tells the model how to fix it."""

    name: str
    """The tool name, when one could be read; else empty."""
    message: str
    """What was wrong and the form expected, for the model."""


@dataclass(frozen=True)
class ParsedTurn:
    """One turn, split."""

    thinking: str
    """The think block's text, stripped."""
    text: str
    """Everything outside think and call blocks, stripped."""
    calls: list[ToolCallPart | MalformedCall] = field(default_factory=list)
    """Calls in the order written, malformed ones included."""

    @property
    def well_formed_calls(self) -> list[ToolCallPart]:
        """The calls that can be run (or validated), in order."""
        return [call for call in self.calls if isinstance(call, ToolCallPart)]


def parse_turn(
    raw: str | Sequence[str],
    *,
    dialect: str,
    thinking: bool,
    tools: Mapping[str, dict[str, Any]],
    next_id: Callable[[], str],
) -> ParsedTurn:
    """Split `raw`, what was generated after the generation prompt: the decode loop's pieces, or a
    trusted string.

    `thinking`: the prompt opened `<think>`, so the turn starts inside it. `tools` maps each tool
    name to its parameters schema; `next_id` hands out call ids.
    Example: `parse_turn('<tool_call>\\n{"name": "now", "arguments": {}}\\n</tool_call>', ...)`
    -> `ParsedTurn("", "", [ToolCallPart(id="call_0", name="now", arguments={})])`.
    """
    pieces = trusted_pieces(raw) if isinstance(raw, str) else raw
    think, texts, blocks = _structure(pieces, thinking)
    calls = [_checked(_read(block, dialect, tools), tools, next_id) for block in blocks]
    text = "".join(texts).strip()
    if not calls and tools and drafts_request(text):
        calls = [MalformedCall("", _drafted_message(dialect))]
    return ParsedTurn(think.strip(), text, calls)


def drafts_request(text: str) -> bool:
    """Whether `text` drafts an HTTP request (a line `GET https://...`), the model card's stand-in for a call.

    Example: `drafts_request("GET https://api.example.com/weather?q=London")` -> True
    """
    return _DRAFTED_REQUEST.search(text) is not None


def trusted_pieces(text: str) -> list[str]:
    """`text` cut at every marker spelling, each marker a `SpecialToken`: text whose spellings are structure.

    Example: `trusted_pieces("a</think>b")` -> `["a", SpecialToken("</think>"), "b"]`
    """
    return [SpecialToken(p) if p in MARKERS else p for p in _MARKER_SPLIT.split(text) if p]


def _marker(piece: str) -> str | None:
    return str(piece) if isinstance(piece, SpecialToken) and piece in MARKERS else None


def _structure(pieces: Sequence[str], thinking: bool) -> tuple[str, list[str], list[str | None]]:
    """Think text, the text outside call blocks, and each block's inside (None for a block never closed).

    Without `</think>`, thinking stops at the first call or the end. With thinking off, a leading
    `<think>` block (after whitespace only) is still read as thinking.
    """
    closes = any(_marker(p) == THINK_CLOSE for p in pieces)
    state, think, block = ("think" if thinking else "start"), "", ""
    texts: list[str] = []
    blocks: list[str | None] = []
    for piece in pieces:
        marker = _marker(piece)
        if state == "start":
            if marker == THINK_OPEN:
                state, texts = "think", []
                continue
            if marker is not None or piece.strip():
                state = "text"
        if state == "think":
            if marker == THINK_CLOSE or (marker == CALL_OPEN and not closes):
                state = "text" if marker == THINK_CLOSE else "call"
            else:
                think += piece
        elif state == "call":
            if marker == CALL_CLOSE:
                blocks.append(block)
                state, block = "text", ""
            else:
                block += piece
        elif marker == CALL_OPEN:
            state = "call"
        else:
            texts.append(piece)
    if state == "call":
        blocks.append(None)
    return think, texts, blocks


def _read(block: str | None, dialect: str, tools: Mapping[str, dict[str, Any]]) -> tuple[str, Any] | MalformedCall:
    """The tool name and arguments written in one block, or what is wrong with it."""
    return _read_hermes(block) if dialect == "hermes-json" else _read_xml(block, tools)


def _read_hermes(block: str | None) -> tuple[str, Any] | MalformedCall:
    if block is None:
        return MalformedCall("", f"the tool call was not closed with {CALL_CLOSE}; write {_HERMES_FORM}")
    try:
        call = json.loads(block)
    except (ValueError, RecursionError) as exc:  # ValueError: not JSON, or an int past 4300 digits
        return MalformedCall("", f"the tool call is not valid JSON ({exc}); write {_HERMES_FORM}")
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return MalformedCall("", f"the tool call has no \"name\" string; write {_HERMES_FORM}")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        arguments = _json_or_none(arguments)
    return call["name"], arguments


def _read_xml(block: str | None, tools: Mapping[str, dict[str, Any]]) -> tuple[str, Any] | MalformedCall:
    if block is None:
        return MalformedCall("", f"the tool call was not closed with {CALL_CLOSE}; write {_XML_FORM}")
    function = _FUNCTION.search(block)
    if function is None:
        return MalformedCall("", f"the tool call has no complete <function=...> block; write {_XML_FORM}")
    name = function.group(1).strip()
    parameters = tools.get(name, {})
    arguments: dict[str, Any] = {}
    for key, value in _PARAMETER.findall(function.group(2)):
        key = key.strip()
        if key in arguments:
            return MalformedCall(name, f"the parameter {key!r} is given twice")
        schema = parameters.get("properties", {}).get(key, {})
        arguments[key] = _xml_value(_strip_newline(value), schema, parameters)
    return name, arguments


def _checked(
    read: tuple[str, Any] | MalformedCall, tools: Mapping[str, dict[str, Any]], next_id: Callable[[], str]
) -> ToolCallPart | MalformedCall:
    if isinstance(read, MalformedCall):
        return read
    name, arguments = read
    if name not in tools:
        known = ", ".join(tools) or "none"
        return MalformedCall(name, f"there is no tool named {name!r}; the tools are: {known}")
    if not isinstance(arguments, dict):
        return MalformedCall(name, "the arguments must be a JSON object")
    return ToolCallPart(id=next_id(), name=name, arguments=arguments)


def _strip_newline(value: str) -> str:
    """The dialect puts the value on its own line(s): drop exactly that one newline on each side."""
    value = value[1:] if value.startswith("\n") else value
    return value[:-1] if value.endswith("\n") else value


def _xml_value(value: str, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """Raw text where the parameter admits only strings (as the grammar writes it); else JSON, or
    the raw text when it is not JSON (the toolbox's validation then names the problem)."""
    if _only_strings(schema, root):
        return value
    parsed = _json_or_none(value)
    return value if parsed is None and value.strip() != "null" else parsed


def _only_strings(schema: Any, root: dict[str, Any]) -> bool:
    """The schema admits strings and nothing else, by its type, enum, const, anyOf/oneOf or local $ref.

    `$ref`s resolve as the toolbox's validation reads them (RFC 6901 escapes, percent-decoding). Each
    subschema is looked at once, so a `$ref` loop ends (a loop adds no other kind of value) and the cost
    is bounded by the size of the schema, whatever its depth.
    """
    todo, seen = [schema], set()
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if not isinstance(node, dict):
            return False
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            todo.append(ref_target(root, node["$ref"]))
            continue
        if node.get("type") in ("string", ["string"]):
            continue
        values = node.get("enum", [node["const"]] if "const" in node else None)
        if values is not None:
            if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
                return False
            continue
        branches = node.get("anyOf", node.get("oneOf"))
        if not (isinstance(branches, list) and branches):
            return False
        todo.extend(branches)
    return True


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, an int past 4300 digits, nesting past the stack
        return None


def _drafted_message(dialect: str) -> str:
    form = _HERMES_FORM if dialect == "hermes-json" else _XML_FORM
    return ("you wrote an HTTP request instead of calling a tool; requests you draft are never sent. "
            f"Call one of your tools with {form}, or answer without tools")
