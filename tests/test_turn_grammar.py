"""Turn grammars: think, text and tool calls per dialect and tool_choice; BFCL ground truth.

Membership is decided by lark's Earley parser (`schema_oracle.parser`), on text, without a
tokenizer: the token-level checks live with the engine's tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from a3agent.errors import ToolChoiceError, ToolDefinitionError, UnknownDialect
from a3agent.grammars.dialects.turn import TurnOptions, turn_grammar
from schema_oracle import BFCL, as_tokens, turn_parser
from schema_oracle import accepts as _accepts

THINK = "The user wants the weather.\nI will call the tool."
WEATHER = {
    "name": "get_weather",
    "description": "Current weather.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "pattern": "^[A-Z][a-z]+$"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1},
        },
        "required": ["city"],
    },
}
CLOCK = {"name": "math.clock", "description": "Time.", "parameters": {"type": "dict", "properties": {}}}


def hermes(name: str, arguments: dict[str, Any], compact: bool = False) -> str:
    separators = (",", ":") if compact else (", ", ": ")
    body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False, separators=separators)
    return f"<tool_call>\n{body}\n</tool_call>"


def xml(name: str, arguments: dict[str, Any], json_keys: frozenset[str] = frozenset()) -> str:
    """A qwen3-xml call: string values raw, except under `json_keys` (parameters that admit more
    than strings, such as BFCL's `any`), which are JSON like every other value."""
    blocks = "".join(
        f"<parameter={key}>\n{value if isinstance(value, str) and key not in json_keys else json.dumps(value, ensure_ascii=False)}"
        "\n</parameter>\n" for key, value in arguments.items())
    return f"<tool_call>\n<function={name}>\n{blocks}</function>\n</tool_call>"


CALL = {"hermes-json": hermes, "qwen3-xml": xml}


def accepts(p, text: str) -> bool:
    return _accepts(p, as_tokens(text))


def turn(answer: str, thinking: bool = True) -> str:
    return f"{THINK}</think>\n\n{answer}" if thinking else answer


def language(tools: list[dict], **options: Any):
    return turn_parser(turn_grammar(tools, TurnOptions(**options)))


# -- skeleton -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", CALL)
def test_think_then_call(dialect: str) -> None:
    p = language([WEATHER], dialect=dialect)
    call = CALL[dialect]("get_weather", {"city": "Paris", "unit": "celsius"})
    assert accepts(p, turn(call))
    assert accepts(p, turn("Let me check.\n" + call))
    assert accepts(p, turn("It is sunny."))
    assert not accepts(p, turn("")), "an answer is text or a call"
    assert not accepts(p, call), "the think block comes first"
    assert not accepts(p, f"</think>\n\n{call}"), "think text is not empty"


def test_hermes_accepts_both_separators() -> None:
    p = language([WEATHER])
    assert accepts(p, turn(hermes("get_weather", {"city": "Paris"}, compact=True)))
    assert accepts(p, turn(hermes("get_weather", {"city": "Paris"})))


@pytest.mark.parametrize("dialect", CALL)
def test_parallel_calls_are_separated_by_a_newline(dialect: str) -> None:
    call = CALL[dialect]("get_weather", {"city": "Paris"})
    assert accepts(language([WEATHER], dialect=dialect), turn(f"{call}\n{call}"))
    assert not accepts(language([WEATHER], dialect=dialect), turn(f"{call}{call}"))
    assert not accepts(language([WEATHER], dialect=dialect, parallel_tool_calls=False), turn(f"{call}\n{call}"))


def test_thinking_off_starts_with_the_answer() -> None:
    p = language([WEATHER], thinking=False)
    assert accepts(p, hermes("get_weather", {"city": "Paris"}))
    assert not accepts(p, turn(hermes("get_weather", {"city": "Paris"})))


def test_special_tokens_are_literals_of_their_own() -> None:
    text = turn_grammar([WEATHER], TurnOptions())
    for special in ("</think>", "<tool_call>", "</tool_call>"):
        assert f'"{special}"' in text
    assert not any(line.startswith("%") for line in text.splitlines()), "no %ignore, no %import"


# -- tool_choice ----------------------------------------------------------------------------------


def test_tool_choice_none_allows_text_only() -> None:
    p = language([WEATHER], tool_choice="none")
    assert accepts(p, turn("No tools needed."))
    assert not accepts(p, turn(hermes("get_weather", {"city": "Paris"})))


def test_tool_choice_required_needs_a_call() -> None:
    p = language([WEATHER], tool_choice="required")
    assert accepts(p, turn(hermes("get_weather", {"city": "Paris"})))
    assert not accepts(p, turn("No call."))


def test_tool_choice_by_name_offers_that_tool_only() -> None:
    p = language([WEATHER, CLOCK], tool_choice="math.clock")
    assert accepts(p, turn(hermes("math.clock", {})))
    assert not accepts(p, turn(hermes("get_weather", {"city": "Paris"})))
    assert not accepts(p, turn("text only"))


@pytest.mark.parametrize("dialect", ["hermes-json", "qwen3-xml"])
def test_a_named_tool_choice_puts_the_call_right_after_the_think_block(dialect: str) -> None:
    p = language([WEATHER, CLOCK], tool_choice="math.clock", dialect=dialect)
    assert accepts(p, turn(CALL[dialect]("math.clock", {})))
    assert not accepts(p, turn("Let me check.\n" + CALL[dialect]("math.clock", {})))
    required = language([WEATHER, CLOCK], tool_choice="required", dialect=dialect)
    assert accepts(required, turn("Let me check.\n" + CALL[dialect]("math.clock", {})))


def test_no_tools_means_text_only() -> None:
    assert accepts(language([]), turn("Hello."))


def test_bad_options_are_refused() -> None:
    with pytest.raises(UnknownDialect):
        turn_grammar([WEATHER], TurnOptions(dialect="openai"))
    with pytest.raises(ToolChoiceError, match="nope"):
        turn_grammar([WEATHER], TurnOptions(tool_choice="nope"))
    with pytest.raises(ToolChoiceError):
        turn_grammar([], TurnOptions(tool_choice="required"))
    with pytest.raises(ToolDefinitionError):
        turn_grammar([WEATHER, WEATHER], TurnOptions())


def test_openai_wrapped_tools_are_unwrapped() -> None:
    p = language([{"type": "function", "function": WEATHER}])
    assert accepts(p, turn(hermes("get_weather", {"city": "Paris"})))


# -- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", CALL)
def test_arguments_follow_the_schema(dialect: str) -> None:
    p = language([WEATHER], dialect=dialect)
    call = CALL[dialect]
    assert accepts(p, turn(call("get_weather", {"city": "Paris", "days": 3})))
    assert not accepts(p, turn(call("get_weather", {"days": 3}))), "required city missing"
    assert not accepts(p, turn(call("get_weather", {"city": "paris"}))), "pattern"
    assert not accepts(p, turn(call("get_weather", {"city": "Paris", "unit": "kelvin"}))), "enum"
    assert not accepts(p, turn(call("get_weather", {"city": "Paris", "days": 0}))), "minimum"
    assert not accepts(p, turn(call("get_weather", {"days": 3, "city": "Paris"}))), "schema order"
    assert not accepts(p, turn(call("get_weather", {"city": "Paris", "extra": 1}))), "undeclared argument"
    assert not accepts(p, turn(call("get_weathr", {"city": "Paris"}))), "unknown tool"


def test_undeclared_arguments_only_where_the_schema_says_so() -> None:
    tool = {"name": "t", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}},
                                        "additionalProperties": {"type": "integer"}}}
    assert accepts(language([tool]), turn(hermes("t", {"a": 1, "b": 2})))
    assert accepts(language([tool], dialect="qwen3-xml"), turn(xml("t", {"a": 1, "b": 2})))


def test_xml_string_values_are_raw_and_never_close_the_parameter() -> None:
    tool = {"name": "note", "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
                                           "required": ["text"]}}
    p = language([tool], dialect="qwen3-xml")
    assert accepts(p, turn(xml("note", {"text": 'a "quoted"\nline'})))
    assert not accepts(p, turn(xml("note", {"text": "a</parameter>b"})))


def test_xml_non_string_values_are_json() -> None:
    tool = {"name": "t", "parameters": {"type": "object", "properties": {"n": {"type": "array", "items": {"type": "integer"}}}}}
    p = language([tool], dialect="qwen3-xml")
    assert accepts(p, turn(xml("t", {"n": [1, 2]})))
    assert not accepts(p, turn(xml("t", {"n": "1, 2"})))


# -- BFCL -----------------------------------------------------------------------------------------


def _first(acceptable: list) -> Any:
    """The first acceptable value that is not the omit marker `""` (nested dicts list acceptable
    values per key as well, also inside lists)."""
    value = next((v for v in acceptable if v != ""), "")
    return _nested(value)


def _nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _first(v) if isinstance(v, list) else _nested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nested(v) for v in value]
    return value


def _bfcl_cases() -> list[tuple[dict, str, dict]]:
    """(case, tool name, arguments): per parameter the first acceptable value; `""` first means
    omitted, unless the schema requires the parameter (then its first other value)."""
    if not BFCL.is_dir():
        return []
    answers = {}
    for line in (BFCL / "BFCL_v4_simple_python.answers.jsonl").read_text().splitlines():
        record = json.loads(line)
        answers[record["id"]] = record["ground_truth"][0]
    cases = []
    for line in (BFCL / "BFCL_v4_simple_python.jsonl").read_text().splitlines():
        case = json.loads(line)
        name, accepted_values = next(iter(answers[case["id"]].items()))
        function = next(f for f in case["function"] if f["name"] == name)
        order = list(function["parameters"].get("properties", {}))
        required = function["parameters"].get("required", [])
        arguments = {k: _first(v) for k, v in accepted_values.items()
                     if v and (v[0] != "" or (k in required and any(x != "" for x in v)))}
        cases.append((case, name, {k: arguments[k] for k in sorted(arguments, key=order.index)}))
    return cases


BFCL_CASES = _bfcl_cases()
needs_bfcl = pytest.mark.skipif(not BFCL_CASES, reason=f"BFCL data not found at {BFCL}")


@needs_bfcl
@pytest.mark.parametrize("dialect", CALL)
def test_bfcl_ground_truth_turns_are_accepted(dialect: str) -> None:
    rejected = [case["id"] for case, name, arguments in BFCL_CASES
                if not accepts(language(case["function"], dialect=dialect), turn(_call(dialect, case, name, arguments)))]
    assert rejected == []


def _call(dialect: str, case: dict, name: str, arguments: dict[str, Any]) -> str:
    if dialect == "hermes-json":
        return hermes(name, arguments)
    properties = next(f for f in case["function"] if f["name"] == name)["parameters"].get("properties", {})
    return xml(name, arguments, frozenset(k for k, v in properties.items() if v.get("type") != "string"))


def _mistyped(value: Any) -> Any:
    return "text" if not isinstance(value, str) else {"not": "a string"}


@needs_bfcl
@pytest.mark.parametrize("dialect", CALL)
def test_bfcl_wrong_name_missing_or_mistyped_argument_is_rejected(dialect: str) -> None:
    for case, name, arguments in BFCL_CASES[::5]:
        p = language(case["function"], dialect=dialect)
        function = next(f for f in case["function"] if f["name"] == name)

        def call(tool: str, args: dict[str, Any]) -> str:
            return _call(dialect, case, name, args).replace(name, tool, 1)

        assert accepts(p, turn(call(name, arguments))), case["id"]
        assert not accepts(p, turn(call(name + "_v2", arguments))), case["id"]
        required = [k for k in function["parameters"].get("required", []) if k in arguments]
        if required:
            missing = {k: v for k, v in arguments.items() if k != required[0]}
            assert not accepts(p, turn(call(name, missing))), case["id"]
        for key, value in arguments.items():
            if dialect == "qwen3-xml" and function["parameters"]["properties"][key].get("type") == "string":
                continue  # any text is a raw string value
            if function["parameters"]["properties"][key].get("type") in ("any", None):
                continue
            assert not accepts(p, turn(call(name, {**arguments, key: _mistyped(value)}))), (case["id"], key)
            break
