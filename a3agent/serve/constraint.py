"""The grammar a request's turn must follow: its tools and tool_choice, or its response_format.

Every request is decoded under a grammar: with thinking on, the think block is filled (the cure for
A3-Instruct's empty `<think></think>`); tool calls follow their schemas; a `json_object` or
`json_schema` response is a JSON value the schema accepts. A schema the engine refuses is a 400
naming the field and the JSON path inside it, never a relaxed constraint.

`response_grammar` puts the think block before a JSON value. It composes the grammar room's pieces
(`SchemaRules`, `turn.lark`'s think rule, `json.lark`) because `compile_turn` has no response-format
option; it belongs in `a3agent.grammars` once that room grows one.
"""

from __future__ import annotations

from typing import Any

from a3agent.agent.context import step_thinking
from a3agent.errors import (
    ToolChoiceError,
    ToolDefinitionError,
    UnsatisfiableSchema,
    UnsupportedSchema,
)
from a3agent.grammars import (
    CHAT_MARKERS,
    Grammar,
    Thinking,
    TurnOptions,
    check_schema,
    compile_grammar,
    compile_json_schema,
    compile_turn,
)
from a3agent.grammars.engine.limits import compile_budget
from a3agent.grammars.schema.json_schema import SchemaRules, with_json_primitives
from a3agent.grammars.schema.lark_text import load_lark
from a3agent.serve.errors import BadRequest, from_error
from a3agent.serve.schema import ChatCompletionRequest
from a3agent.tools.definition import ToolDefinition

__all__ = ["request_grammar", "response_grammar", "tool_specs"]

_THINK_LARK = ("a3agent.grammars.dialects", "turn.lark")
_NO_PARAMETERS = {"type": "object", "properties": {}}
"""What a tool without `parameters` takes (checked only: the spec then names none, as the client sent it)."""


def tool_specs(request: ChatCompletionRequest) -> list[dict[str, Any]]:
    """The request's tools as the turn grammar and the template take them; raises `BadRequest`.

    Each is checked as the agent's own tools are (`ToolDefinition`: a name of letters, digits, `_`,
    `-`, `.`; a valid schema of an object; no `$ref` loop). A call's arguments are always an object, so
    a schema that names no type is read as one (`{}`: any object); one of another type is refused,
    as OpenAI does, rather than compiled into calls no client could read.
    """
    specs = []
    for index, tool in enumerate(request.tools or []):
        spec = tool.function.model_dump(include={"name", "description", "parameters"}, exclude_none=True)
        if "parameters" in spec and "type" not in spec["parameters"]:
            spec["parameters"] = {"type": "object", **spec["parameters"]}
        try:
            ToolDefinition(spec["name"], spec.get("description", ""), spec.get("parameters", _NO_PARAMETERS))
        except ToolDefinitionError as exc:
            raise BadRequest(str(exc), param=f"tools[{index}].function", code="invalid_tool") from None
        specs.append(spec)
    return specs


def request_grammar(request: ChatCompletionRequest, tools: list[dict[str, Any]], tokenizer: Any, dialect: str,
                    budget: int) -> Grammar:
    """The grammar of this request's turn (offering `tools`, from `tool_specs`) within `budget` new tokens;
    raises `BadRequest`."""
    thinking = _thinking(request, budget)
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        schema = fmt.json_schema.schema_ if fmt.json_schema is not None else {"type": "object"}
        param = "response_format.json_schema.schema" if fmt.json_schema is not None else "response_format"
        try:
            return response_grammar(schema, tokenizer, thinking)
        except (UnsupportedSchema, UnsatisfiableSchema) as exc:
            raise from_error(exc, param) from None
    options = TurnOptions(dialect, request.choice, request.parallel_tool_calls, request.thinking)
    try:
        return compile_turn(tools, tokenizer, options, thinking)
    except (UnsupportedSchema, UnsatisfiableSchema) as exc:
        raise from_error(exc, _failing_tool(tools)) from None
    except ToolChoiceError as exc:
        raise BadRequest(str(exc), param="tool_choice") from None
    except ToolDefinitionError as exc:
        raise BadRequest(str(exc), param="tools") from None


def response_grammar(schema: dict[str, Any] | bool, tokenizer: Any, thinking: Thinking | None) -> Grammar:
    """A JSON value valid under `schema`, after a think block when `thinking` bounds one."""
    if thinking is None:
        return compile_json_schema(schema, tokenizer)
    with compile_budget():
        rules = SchemaRules(taken=frozenset({"think"}))
        root = rules.add(schema, "response")
        source = with_json_primitives("\n".join([f"start: think {root}\n", rules.compiled_text(), load_lark(*_THINK_LARK)]),
                                      rules.automata)
        return compile_grammar(source.text, tokenizer, CHAT_MARKERS, thinking, source.automata)


def _thinking(request: ChatCompletionRequest, budget: int) -> Thinking | None:
    """The think bounds the request asks for (defaults `Thinking()`'s), cut to fit `budget`."""
    if not request.thinking:
        return None
    default = Thinking()
    low = default.min_tokens if request.min_thinking_tokens is None else request.min_thinking_tokens
    high = default.max_tokens if request.max_thinking_tokens is None else request.max_thinking_tokens
    if low > high:
        raise BadRequest(f"min_thinking_tokens ({low}) is above max_thinking_tokens ({high})",
                         param="min_thinking_tokens")
    return step_thinking(Thinking(low, high), budget)


def _failing_tool(tools: list[dict[str, Any]]) -> str:
    """The field of the first tool whose schema is refused alone; `tools` when only their sum is."""
    for index, tool in enumerate(tools):
        try:
            check_schema(tool.get("parameters", {}))
        except (UnsupportedSchema, UnsatisfiableSchema):
            return f"tools[{index}].function.parameters"
    return "tools"

