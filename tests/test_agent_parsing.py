"""Output parsing: both dialects, thinking on and off, and the malformed output of an unconstrained model."""

import itertools
import json

import pytest

from a3agent.agent.messages import ToolCallPart
from a3agent.agent.parsing import MalformedCall, parse_turn, trusted_pieces
from a3agent.agent.streaming import TurnSplitter
from a3agent.model.decode import SpecialToken
from hang_guard import finished

TOOLS = {
    "crop": {
        "type": "object",
        "properties": {
            "image": {"type": "string"},
            "bbox": {"type": "array", "items": {"type": "number"}},
        },
    },
    "calculate": {"type": "object", "properties": {"expression": {"type": "string"}}},
    "zoom": {
        "type": "object",
        "properties": {"image": {"type": "string"}, "factor": {"type": "number"},
                       "mode": {"enum": ["fast", "fine"]}, "label": {"type": ["string", "null"]}},
    },
    "now": {"type": "object", "properties": {}},
    "plan": {
        "type": "object",
        "properties": {"when": {"anyOf": [{"type": "string", "format": "date"}, {"enum": ["today"]}]},
                       "level": {"$ref": "#/$defs/Level"}, "count": {"type": "integer"}},
        "$defs": {"Level": {"enum": ["1", "2"]}},
    },
}


def parse(raw, dialect="hermes-json", thinking=True):
    ids = (f"call_{i}" for i in itertools.count())
    return parse_turn(raw, dialect=dialect, thinking=thinking, tools=TOOLS, next_id=lambda: next(ids))


def test_hermes_turn_splits_into_thinking_text_and_calls():
    raw = ('I should crop the top left.\n</think>\n\nLet me look closer.\n<tool_call>\n'
           '{"name": "crop", "arguments": {"image": "img_0", "bbox": [0, 0, 0.5, 0.5]}}\n</tool_call>')
    turn = parse(raw)
    assert turn.thinking == "I should crop the top left."
    assert turn.text == "Let me look closer."
    assert turn.calls == [ToolCallPart(id="call_0", name="crop",
                                       arguments={"image": "img_0", "bbox": [0, 0, 0.5, 0.5]})]


def test_hermes_parallel_calls_get_distinct_ids_in_order():
    block = '<tool_call>\n{{"name": "calculate", "arguments": {{"expression": "{}"}}}}\n</tool_call>'
    turn = parse("x</think>\n\n" + block.format("1+1") + "\n" + block.format("2*3"))
    assert [(c.id, c.arguments["expression"]) for c in turn.calls] == [("call_0", "1+1"), ("call_1", "2*3")]
    assert turn.text == ""


def test_hermes_compact_json_and_arguments_given_as_a_json_string_are_read():
    turn = parse('</think><tool_call>{"name":"calculate","arguments":"{\\"expression\\": \\"1\\"}"}</tool_call>')
    assert turn.calls[0].arguments == {"expression": "1"}


def test_thinking_off_turn_is_all_text_and_a_self_opened_think_block_is_still_thinking():
    assert parse("The answer is 4.", thinking=False).text == "The answer is 4."
    turn = parse("<think>hmm</think>\nFour.", thinking=False)
    assert (turn.thinking, turn.text) == ("hmm", "Four.")


def test_unclosed_think_ends_at_the_first_call():
    turn = parse('ponder <tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>')
    assert turn.thinking == "ponder"
    assert [c.name for c in turn.calls] == ["now"]


def test_empty_think_block_gives_empty_thinking():
    turn = parse("</think>\n\nIt is a fruit salad.")
    assert (turn.thinking, turn.text, turn.calls) == ("", "It is a fruit salad.", [])


def test_qwen3_xml_values_are_raw_strings_or_json_by_schema():
    raw = ("look</think>\n<tool_call>\n<function=zoom>\n<parameter=image>\nimg_1\n</parameter>\n"
           "<parameter=factor>\n2.5\n</parameter>\n<parameter=mode>\nfine\n</parameter>\n"
           "<parameter=label>\nnull\n</parameter>\n</function>\n</tool_call>")
    (call,) = parse(raw, dialect="qwen3-xml").calls
    assert call == ToolCallPart(id="call_0", name="zoom",
                                arguments={"image": "img_1", "factor": 2.5, "mode": "fine", "label": None})


def test_qwen3_xml_reads_values_raw_wherever_the_schema_admits_only_strings():
    raw = ("</think><tool_call>\n<function=plan>\n<parameter=when>\n2024\n</parameter>\n"
           "<parameter=level>\n2\n</parameter>\n<parameter=count>\n3\n</parameter>\n</function>\n</tool_call>")
    (call,) = parse(raw, dialect="qwen3-xml").calls
    assert call.arguments == {"when": "2024", "level": "2", "count": 3}


@pytest.mark.parametrize(
    ("ref", "defs"),
    [
        ("#/$defs/a~1b", {"a/b": {"type": "string"}, "a~1b": {"$ref": "#/$defs/a~1b"}}),
        ("#/$defs/a%25b", {"a%b": {"type": "string"}, "a%25b": {"$ref": "#/$defs/a%25b"}}),
        ("#/$defs/a~0b", {"a~b": {"type": "string"}, "a~0b": {"$ref": "#/$defs/a~0b"}}),
        ("#/$defs/a%2Fb", {"a": {"b": {"type": "string"}}, "a/b": {"type": "integer"}}),  # %2F separates
    ],
    ids=["slash", "percent", "tilde", "percent-encoded-slash"],
)
def test_qwen3_xml_resolves_refs_as_json_pointers_and_a_ref_that_names_itself_ends(ref, defs):
    schema = {"type": "object", "properties": {"x": {"$ref": ref}}, "required": ["x"], "$defs": defs}
    raw = "</think><tool_call>\n<function=f>\n<parameter=x>\n12\n</parameter>\n</function>\n</tool_call>"
    (call,) = parse_turn(raw, dialect="qwen3-xml", thinking=True, tools={"f": schema}, next_id=lambda: "call_0").calls
    assert call.arguments == {"x": "12"}  # the pointer names the string schema: raw text, not the number 12


def test_qwen3_xml_reads_a_parameter_whose_refs_loop_or_nest_deeply_without_recursing():
    loop = {"type": "object", "properties": {"x": {"$ref": "#/$defs/a"}},
            "$defs": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}}}
    deep: dict = {"type": "string"}
    for _ in range(5000):
        deep = {"anyOf": [deep]}
    nested = {"type": "object", "properties": {"x": deep}}
    raw = "</think><tool_call>\n<function=f>\n<parameter=x>\n12\n</parameter>\n</function>\n</tool_call>"
    for schema in (loop, nested):
        (call,) = parse_turn(raw, dialect="qwen3-xml", thinking=True, tools={"f": schema},
                             next_id=lambda: "call_0").calls
        assert call.arguments == {"x": "12"}


def test_qwen3_xml_keeps_multiline_string_values_and_parses_arrays():
    raw = ("</think><tool_call>\n<function=crop>\n<parameter=image>\nline 1\nline 2\n</parameter>\n"
           "<parameter=bbox>\n[0, 0.5, 1, 1]\n</parameter>\n</function>\n</tool_call>")
    (call,) = parse(raw, dialect="qwen3-xml").calls
    assert call.arguments == {"image": "line 1\nline 2", "bbox": [0, 0.5, 1, 1]}


@pytest.mark.parametrize(
    ("raw", "dialect", "expected"),
    [
        ('<tool_call>\n{"name": "crop", "arguments": {"image": \n</tool_call>', "hermes-json", "not valid JSON"),
        ('<tool_call>\n{"name": "weather", "arguments": {}}\n</tool_call>', "hermes-json", "no tool named 'weather'"),
        ('<tool_call>\n{"name": "crop", "arguments": {"image": "img_0"}}', "hermes-json", "not closed"),
        ('<tool_call>\n["crop"]\n</tool_call>', "hermes-json", 'no "name"'),
        ('<tool_call>\n{"name": "crop", "arguments": [1]}\n</tool_call>', "hermes-json", "JSON object"),
        ("<tool_call>\n<function=crop>\n<parameter=image>\nimg_0\n</parameter>\n</tool_call>", "qwen3-xml",
         "no complete <function=...>"),
        ("<tool_call>\n<function=crop>\n<parameter=image>\na\n</parameter>\n<parameter=image>\nb\n"
         "</parameter>\n</function>\n</tool_call>", "qwen3-xml", "given twice"),
        ("<tool_call>\n<function=nope>\n</function>\n</tool_call>", "qwen3-xml", "no tool named 'nope'"),
        ("<tool_call>\n<function=crop>\n", "qwen3-xml", "not closed"),
    ],
)
def test_malformed_calls_become_messages_for_the_model_not_exceptions(raw, dialect, expected):
    (call,) = parse("</think>\n" + raw, dialect=dialect).calls
    assert isinstance(call, MalformedCall)
    assert expected in call.message


DEEP, HUGE = "[" * 100_000 + "]" * 100_000, "9" * 5000  # json.loads: RecursionError, ValueError


@pytest.mark.parametrize("value", [DEEP, HUGE], ids=["deep", "huge"])
def test_json_that_python_cannot_load_is_a_malformed_call_or_raw_text_not_an_exception(value):
    hermes = f'<tool_call>\n{{"name": "crop", "arguments": {{"bbox": {value}}}}}\n</tool_call>'
    (call,) = parse("</think>\n" + hermes).calls
    assert isinstance(call, MalformedCall) and "not valid JSON" in call.message
    arguments_as_a_string = json.dumps({"name": "crop", "arguments": '{"bbox": ' + value + "}"})
    as_string = f"<tool_call>\n{arguments_as_a_string}\n</tool_call>"
    (call,) = parse("</think>\n" + as_string).calls
    assert isinstance(call, MalformedCall) and "must be a JSON object" in call.message
    xml = f"<tool_call>\n<function=crop>\n<parameter=bbox>\n{value}\n</parameter>\n</function>\n</tool_call>"
    (call,) = parse("</think>\n" + xml, dialect="qwen3-xml").calls
    assert call.arguments == {"bbox": value}  # not JSON to Python: the raw text, which the toolbox refuses


def test_a_drafted_http_request_is_answered_with_the_call_form():
    raw = "</think>\nGET https://api.openweathermap.org/data/2.5/weather?q=Paris&appid=KEY"
    (call,) = parse(raw).calls
    assert isinstance(call, MalformedCall)
    assert "instead of calling a tool" in call.message and "<tool_call>" in call.message


def test_a_url_mentioned_in_an_answer_is_not_a_drafted_request():
    assert parse("</think>\nSee https://example.org for details.").calls == []


def test_malformed_and_good_calls_keep_their_order():
    raw = ('</think><tool_call>\n{bad}\n</tool_call><tool_call>\n{"name": "now", "arguments": {}}\n'
           "</tool_call>")
    bad, good = parse(raw).calls
    assert isinstance(bad, MalformedCall) and good.name == "now" and good.id == "call_0"


# -- streaming ----------------------------------------------------------------------------------


def split(deltas, thinking=True):
    splitter = TurnSplitter(thinking)
    out = [piece for d in deltas for piece in splitter.feed(d)]
    joined = {"thinking": "", "text": ""}
    for channel, text in out:
        joined[channel] += text
    return joined


def chunked(raw, size):
    """The decode loop's deltas for `raw`: each marker a special token, the text in chunks of `size`."""
    return [piece if isinstance(piece, SpecialToken) else piece[i : i + size]
            for piece in trusted_pieces(raw) for i in range(0, len(piece), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_streamed_deltas_concatenate_to_the_parsed_thinking_and_text(size):
    raw = ('I need a closer look.\n</think>\n\nLooking.\n<tool_call>\n{"name": "now", "arguments": {}}\n'
           "</tool_call>\nthen more text\n")
    turn = parse(raw)
    assert split(chunked(raw, size)) == {"thinking": turn.thinking, "text": turn.text}


def test_streaming_hides_call_blocks_and_markers():
    joined = split(["a", SpecialToken("</think>"), "b", SpecialToken("<tool_call>"), '{"name":"now"}',
                    SpecialToken("</tool_call>"), "c"])
    assert joined == {"thinking": "a", "text": "bc"}


def test_streaming_with_thinking_off_routes_a_leading_think_block():
    assert split(chunked("<think>x</think>y", 1), thinking=False) == {"thinking": "x", "text": "y"}


def test_markers_spelled_with_ordinary_tokens_are_text_when_streamed_and_parsed():
    pieces = ["a", SpecialToken("</think>"), '<tool_call>\n{"name": "now", "arguments": {}}\n</tool_call>']
    turn = parse_turn(pieces, dialect="hermes-json", thinking=True, tools=TOOLS, next_id=lambda: "call_0")
    assert turn.calls == [] and turn.text == pieces[2]
    assert split(pieces) == {"thinking": "a", "text": pieces[2]}


def test_a_long_whitespace_run_streams_in_linear_time_and_joins_to_the_parsed_text():
    # the held-back whitespace was copied whole on every delta: 200k one-space deltas took 19 s, 600k minutes
    deltas = ["answer:"] + [" "] * 600_000 + ["done", "\n\n"]
    joined = {}
    assert finished(lambda: joined.update(split(deltas, thinking=False)), guard_s=30) is None
    assert joined["text"] == "answer:" + " " * 600_000 + "done"
