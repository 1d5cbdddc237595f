"""Built-in tools: calculate (ast, never eval), now, read_text confined to a root, and builtin_tools."""

import asyncio
import os
import re
from datetime import datetime

import pytest

from a3agent.errors import ToolDefinitionError, ToolFailed
from a3agent.tools import Toolbox, ToolCall, ToolResult, builtin_tools, calculate, now, read_text_tool


def run(box: Toolbox, name: str, **arguments) -> ToolResult:
    return asyncio.run(box.invoke(ToolCall(name, arguments)))


# -- calculate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 / 2", "3.5"),
        ("7 // 2", "3"),
        ("7 % 4", "3"),
        ("2 ** 10", "1024"),
        ("-3 + +2", "-1"),
        ("2 ** -1", "0.5"),
        ("sqrt(16) + abs(-2)", "6.0"),
        ("round(pi, 3)", "3.142"),
        ("max(1, 5, 3) - min(4, 2)", "3"),
        ("log(e)", "1.0"),
        ("factorial(10)", "3628800"),
        ("floor(2.7) + ceil(2.1)", "5"),
        ("degrees(tau)", "360.0"),
        ("1_000 * 3", "3000"),
        ("0.1 + 0.2", "0.30000000000000004"),
    ],
)
def test_calculate_evaluates_arithmetic(expression, expected):
    assert calculate(expression) == expected


@pytest.mark.parametrize(
    "expression, message",
    [
        ("__import__('os').system('echo pwned')", "is not supported"),
        ("open('/etc/passwd').read()", "is not supported"),
        ("().__class__.__bases__[0]", "is not supported"),
        ("x + 1", "'x' is not supported"),
        ("math.sqrt(4)", "is not supported"),
        ("'a' * 3", "is not supported"),
        ("[1, 2]", "is not supported"),
        ("1 < 2", "is not supported"),
        ("True + 1", "'True' is not supported"),
        ("2j", "is not supported"),
        ("lambda: 1", "is not supported"),
        ("2 ^ 10", "use ** for powers"),
        ("sqrt(x=4)", "positional arguments only"),
    ],
)
def test_calculate_refuses_everything_but_arithmetic(expression, message):
    with pytest.raises(ToolFailed, match=re.escape(message)):
        calculate(expression)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("9 ** 9 ** 9", "more than 1000 digits"),
        ("10 ** 999 * 100", "more than 1000 digits"),
        ("factorial(100000)", "more than 1000 digits"),
        ("round(1, -10 ** 9)", "out of range"),
        ("2.0 ** 100000", "too large"),
        ("1 / 0", "division by zero"),
        ("sqrt(-1)", "math domain error"),
        ("1 +", "cannot parse"),
        ("1" * 600, "longer than 500 characters"),
        ("min()", "expected at least 1 argument"),
    ],
)
def test_calculate_guards_huge_results_and_reports_math_errors(expression, message):
    with pytest.raises(ToolFailed, match=re.escape(message)):
        calculate(expression)


def test_calculate_errors_reach_the_model_as_error_results():
    result = run(Toolbox([calculate]), "calculate", expression="1/0")
    assert result.is_error and "Tool 'calculate' failed: '1/0' cannot be computed: division by zero" == result.text


# -- now --------------------------------------------------------------------------------------


def test_now_is_an_aware_iso_timestamp_with_the_weekday():
    stamp, weekday = now().split(" ")
    moment = datetime.fromisoformat(stamp)
    assert moment.tzinfo is not None and weekday == f"({moment:%A})"
    assert abs((datetime.now().astimezone() - moment).total_seconds()) < 60
    assert now.definition.parameters == {"type": "object", "properties": {}, "additionalProperties": False}


# -- read_text --------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path):
    (tmp_path / "root" / "notes").mkdir(parents=True)
    (tmp_path / "root" / "notes" / "todo.txt").write_text("buy figs\n")
    (tmp_path / "secret.txt").write_text("password")
    return tmp_path / "root"


def read(root, path: str, **options) -> ToolResult:
    return run(Toolbox([read_text_tool(root, **options)]), "read_text", path=path)


def test_read_text_reads_a_file_under_the_root(root):
    assert read(root, "notes/todo.txt").text == "buy figs\n"
    assert read(root, "./notes/../notes/todo.txt").text == "buy figs\n"


def test_an_absolute_path_inside_the_root_is_read(root):
    assert read(root, str(root / "notes" / "todo.txt")).text == "buy figs\n"


@pytest.mark.parametrize("path", ["../secret.txt", "notes/../../secret.txt", "../../../../../../etc/passwd"])
def test_dotdot_cannot_escape_the_root(root, path):
    result = read(root, path)
    assert result.is_error and "outside the readable folder" in result.text


def test_an_absolute_path_outside_the_root_is_refused(root):
    result = read(root, str(root.parent / "secret.txt"))
    assert result.is_error and "outside the readable folder" in result.text
    assert read(root, "/etc/passwd").is_error


def test_a_symlink_cannot_escape_the_root(root):
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    (root / "linked_dir").symlink_to(root.parent)
    for path in ("link.txt", "linked_dir/secret.txt"):
        result = read(root, path)
        assert result.is_error and "outside the readable folder" in result.text


def test_a_symlink_inside_the_root_is_followed(root):
    (root / "alias.txt").symlink_to(root / "notes" / "todo.txt")
    assert read(root, "alias.txt").text == "buy figs\n"


def test_a_root_reached_through_a_symlink_still_works(root, tmp_path):
    (tmp_path / "root_link").symlink_to(root)
    assert read(tmp_path / "root_link", "notes/todo.txt").text == "buy figs\n"


def test_large_files_are_truncated_at_the_cap(root):
    (root / "big.txt").write_text("é" * 1000)
    text = read(root, "big.txt", max_bytes=101).text
    body, note = text.split("\n")
    assert body == "é" * 50 + "\ufffd" and note == "[truncated: the file exceeds 101 bytes]"


def test_missing_files_folders_and_binary_files_are_clear_errors(root):
    (root / "blob.bin").write_bytes(b"\x89PNG\x00\x00")
    assert "there is no file 'nope.txt'" in read(root, "nope.txt").text
    assert "there is no file 'notes'" in read(root, "notes").text
    assert "is not a text file" in read(root, "blob.bin").text
    assert "not a usable path" in read(root, "a\x00b").text


def test_the_root_must_be_an_existing_folder(tmp_path):
    with pytest.raises(ToolDefinitionError, match="is not a folder"):
        read_text_tool(tmp_path / "missing")


# -- builtin_tools ----------------------------------------------------------------------------


def test_builtin_tools_without_a_root_cannot_read_files():
    box = builtin_tools()
    assert [tool.name for tool in box] == ["crop", "zoom", "grid", "image_info", "calculate", "now", "http_get"]


def test_builtin_tools_with_a_root_add_read_text(root):
    box = builtin_tools(root=root)
    assert "read_text" in box
    assert run(box, "read_text", path="notes/todo.txt").text == "buy figs\n"


def test_builtin_http_get_is_safe_by_default_and_configurable():
    assert "only public addresses" in run(builtin_tools(), "http_get", url="http://127.0.0.1/").text
    allowlisted = builtin_tools(allow_hosts=["example.com"], allow_private=True)
    assert "not on the allowlist" in run(allowlisted, "http_get", url="http://127.0.0.1/").text


def test_every_builtin_tool_is_documented():
    for tool in builtin_tools(root=os.getcwd()):
        assert tool.definition.description, tool.name
        for name, schema in tool.definition.parameters["properties"].items():
            assert schema.get("description"), f"{tool.name}.{name}"
