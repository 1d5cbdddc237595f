"""Every failure a tool call can meet becomes an error result the model sees; nothing escapes `invoke`.

Also `calculate`'s refusals of overflow and complex results, `read_text` on paths the OS refuses,
docstrings in Google, NumPy and reST style, `Conversation.load` on nesting and integers that
Python's parsers refuse with untyped errors, and signatures whose annotation strings or defaults make
no schema: a `ToolDefinitionError` naming the parameter.
"""

import asyncio
import math
import re
import sys

import pytest

from a3agent.agent.conversation import Conversation
from a3agent.errors import ConversationFileError, ToolArgumentsError, ToolDefinitionError, ToolFailed
from a3agent.tools import Tool, Toolbox, ToolCall, calculate, read_text_tool
from a3agent.tools.docstrings import parse_docstring


def run(box: Toolbox, name: str, **arguments):
    return asyncio.run(asyncio.wait_for(box.invoke(ToolCall(name, arguments)), 10))  # hang guard


def test_a_schema_the_validator_cannot_finish_is_an_error_result_not_an_exception():
    # a $ref loop is refused when the tool is defined (test_tools_schema_cycles.py); a remote one
    # passes the definition and is never fetched (test_tools.py)
    spec = {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"$ref": "https://example.invalid/a.json"}}}}
    result = run(Toolbox([Tool.from_schema(spec, lambda x: "ran")]), "f", x=1)
    assert result.is_error and "cannot check its arguments (" in result.text
    assert "$ref 'https://example.invalid/a.json' does not resolve within it" in result.text


NESTED_LISTS = {"name": "nest", "parameters": {
    "type": "object", "properties": {"x": {"$ref": "#/$defs/L"}},
    "$defs": {"L": {"type": "array", "items": {"$ref": "#/$defs/L"}}}}}


def test_arguments_nested_past_the_validators_stack_are_an_error_result_asking_for_flatter_ones():
    value: list = []
    for _ in range(5000):
        value = [value]
    result = run(Toolbox([Tool.from_schema(NESTED_LISTS, lambda x: "ran")]), "nest", x=value)
    assert result.is_error and "checking them went too deep" in result.text and "flatter arguments" in result.text
    assert run(Toolbox([Tool.from_schema(NESTED_LISTS, lambda x: "ran")]), "nest", x=[[[]]]).text == "ran"


def test_validate_refuses_arguments_nested_past_the_validators_stack_with_a_typed_error():
    value: list = []
    for _ in range(5000):
        value = [value]
    box = Toolbox([Tool.from_schema(NESTED_LISTS, lambda x: "ran")])
    with pytest.raises(ToolArgumentsError, match="checking them went too deep"):
        box.validate(ToolCall("nest", {"x": value}))  # the agent's check before a call: was RecursionError


def exits() -> str:
    """Exit."""
    sys.exit(3)


def interrupts() -> str:
    """Interrupt."""
    raise KeyboardInterrupt


async def exits_async() -> str:
    """Exit, async."""
    sys.exit(4)


class Unusual(BaseException):
    pass


def generator_exit() -> str:
    """Raise GeneratorExit."""
    raise GeneratorExit


async def unusual_async() -> str:
    """Raise a BaseException of its own."""
    raise Unusual("odd")


def cancels() -> str:
    """Raise CancelledError without being cancelled."""
    raise asyncio.CancelledError


async def cancels_async() -> str:
    """Raise CancelledError without being cancelled, async."""
    raise asyncio.CancelledError


@pytest.mark.parametrize(("function", "reported"), [
    (exits, "SystemExit(3)"), (interrupts, "KeyboardInterrupt()"), (exits_async, "SystemExit(4)"),
    (generator_exit, "GeneratorExit()"), (unusual_async, "Unusual(odd)"),
    (cancels, "CancelledError: the tool cancelled itself"), (cancels_async, "CancelledError: the tool cancelled itself"),
])
def test_a_tool_raising_a_base_exception_fails_at_once_even_without_a_timeout(function, reported):
    # before: SystemExit/KeyboardInterrupt read as a timeout and other BaseExceptions left the call
    # unsettled (a hang with timeout=None); a CancelledError the tool raised itself passed for `null`
    result = run(Toolbox([Tool.from_function(function, timeout=None)]), function.__name__)
    assert result.is_error and f"failed: it raised {reported}" in result.text


@pytest.mark.parametrize(("expression", "message"), [
    ("1e308*10", "result is inf"),
    ("1e999", "result is inf"),
    ("degrees(1e308)", "result is inf"),
    ("(-8)**(1/3)", "complex number"),
    ("(-1)**0.5", "complex number"),
])
def test_calculate_refuses_infinite_and_complex_results(expression, message):
    result = run(Toolbox([calculate]), "calculate", expression=expression)
    assert result.is_error and message in result.text


def test_calculate_refuses_a_lone_surrogate_as_unparsable():
    with pytest.raises(ToolFailed, match="cannot parse '\\\\ud800'"):  # was UnicodeEncodeError from ast.parse
        calculate("\ud800")


def test_calculate_still_computes_real_powers_and_large_finite_floats():
    box = Toolbox([calculate])
    assert run(box, "calculate", expression="8**(1/3)").text == "2.0"
    assert run(box, "calculate", expression="1e308*1.5").text == "1.5e+308"


def test_read_text_reports_a_symlink_loop_and_an_overlong_path(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    box = Toolbox([read_text_tool(tmp_path)])
    loop = run(box, "read_text", path="loop")
    assert loop.is_error and "'loop' is not a usable path" in loop.text
    long = run(box, "read_text", path="a" * 5000)
    assert long.is_error and "is not a usable path" in long.text


GOOGLE = '''Add two numbers.

    Args:
        a (int): The first term.
        b: The second
            term.
    '''
NUMPY = '''Add two numbers.

    Parameters
    ----------
    a : int
        The first term.
    b
        The second
        term.

    Returns
    -------
    int
    '''
REST = '''Add two numbers.

    :param a: The first term.
    :param int b: The second
        term.
    :returns: the sum.
    '''


@pytest.mark.parametrize("doc", [GOOGLE, NUMPY, REST], ids=["google", "numpy", "rest"])
def test_docstrings_in_google_numpy_and_rest_style_keep_their_parameter_texts(doc):
    assert parse_docstring(doc) == ("Add two numbers.", {"a": "The first term.", "b": "The second term."})


def test_numpy_parameter_texts_reach_the_tool_schema():
    def add(a: int, b: int) -> int:
        return a + b

    add.__doc__ = NUMPY
    schema = Tool.from_function(add).definition.parameters
    assert schema["properties"]["b"]["description"] == "The second term."


HEADER = '{"format": "a3agent-conversation", "version": 1, "images": 0}'


@pytest.mark.parametrize(("lines", "message"), [
    (["[" * 100_000 + "]" * 100_000], "line 1: not an a3agent conversation header"),  # was RecursionError
    (['{"a":' * 100_000 + "1" + "}" * 100_000], "line 1: not an a3agent conversation header"),
    (["9" * 5000], "line 1: not an a3agent conversation header"),  # was ValueError (int digit limit)
    (['{"format": "a3agent-conversation", "version": 1, "images": ' + "9" * 5000 + "}"],
     "line 1: not an a3agent conversation header"),
    ([HEADER, "[" * 100_000 + "]" * 100_000], "line 2: not a conversation message (Invalid JSON: recursion"),
    ([HEADER, '{"role": "user", "parts": [], "x": ' + "9" * 5000 + "}"],
     "line 2: not a conversation message (Invalid JSON: number out of range"),
    (['{"format": "a3agent-conversation", "version": 1, "images": true}'], "image count True is not a count"),
])
def test_conversation_load_turns_deep_nesting_and_huge_ints_into_conversation_file_errors(tmp_path, lines, message):
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(lines))
    with pytest.raises(ConversationFileError, match=re.escape(message)):
        Conversation.load(path)


def annotated(annotation: str) -> object:
    def f(x: int, y: annotation = 1) -> str:  # type: ignore[valid-type]
        return ""

    return f


def defaulted(default: object) -> object:
    def f(x: int, y: float = default) -> str:  # type: ignore[assignment]
        return ""

    return f


@pytest.mark.parametrize(("function", "message"), [
    (annotated("int["), "(the annotation 'int[' of parameter 'y'): SyntaxError"),
    (annotated("1/0"), "(the annotation '1/0' of parameter 'y'): ZeroDivisionError"),
    (defaulted(10**5000), "parameter 'y' cannot be written in its JSON Schema (Exceeds the limit"),
    (defaulted(math.nan), "parameter 'y' cannot be written in its JSON Schema (Out of range float values"),
    (defaulted(-math.inf), "parameter 'y' cannot be written in its JSON Schema (Out of range float values"),
])
def test_a_signature_that_makes_no_schema_is_a_definition_error_naming_the_parameter(function, message):
    with pytest.raises(ToolDefinitionError, match=re.escape(message)):
        Tool.from_function(function, name="f")
