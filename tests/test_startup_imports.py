"""`a3agent --help` and usage errors import only what they need: not rich's help formatter (markdown-it,
pygments, attrs), and for the `--tool-choice` check against the built-in tools not the libraries the
tools use only when they run (httpx, turbohtml, jsonschema). No usage error imports pydantic (typer's own
option coercion would), numpy, PIL, torch, transformers or a3agent's tools, grammar engine, model or agent;
the parser's errors and `--help` not even rich, which only the commands' own error lines need. Startup
time itself is measured by `benchmarks/startup.py`, never asserted here."""

import subprocess
import sys

import pytest

PROBE = ("import atexit, sys; atexit.register(lambda: print('loaded:', sorted(m for m in {names!r} if m in "
         "sys.modules))); from a3agent.cli.app import main; main()")
FORMATTER = ("typer.rich_utils", "markdown_it", "pygments", "attr")
RUN_TIME_ONLY = ("httpx", "turbohtml", "jsonschema")


DEFERRED = ("pydantic", "numpy", "PIL", "torch", "transformers", "a3agent.tools", "a3agent.grammars",
            "a3agent.model", "a3agent.agent")
PARSER_ERRORS = [
    ["run", "hi", "--temperature", "-1"], ["run", "hi", "--dialect", "foo"], ["run", "hi", "--top-p", "0"],
    ["run", "hi", "--bogus"], ["run"], ["chat", "--seed", "x"], ["chat", "--max-steps", "0"],
    ["serve", "--port", "70000"], ["grammar", "--dialect", "foo"], ["run", "hi", "--json", "--temperature", "-1"],
]  # fmt: skip
COMMAND_ERRORS = [
    ["run", "hi", "--min-think", "100", "--max-think", "10"], ["run", "hi", "--min-think", "2000"],
    ["run", "hi", "--tool-choice", "nosuchtool"], ["run", "hi", "--tools", "none", "--tool-choice", "required"],
    ["run", "hi", "--tools", "badspec"], ["run", "hi", "--model", "scripted:nosuch"],
    ["run", "hi", "--json", "--tool-choice", "nosuchtool"], ["chat", "--tool-choice", "nosuchtool"],
    ["chat", "--min-think", "100", "--max-think", "10"], ["chat", "--model", "scripted:nosuch"],
]  # fmt: skip


def loaded(arguments: list[str], names: tuple[str, ...], status: int | None = None) -> str:
    probe = PROBE.format(names=set(names))
    done = subprocess.run([sys.executable, "-c", probe, *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode in ((0, 2) if status is None else (status,)), done.stderr
    return done.stdout


@pytest.mark.parametrize("arguments", [["--help"], ["run", "hi", "--temperature", "-1"], ["run", "--help"]])
def test_help_and_parser_errors_do_not_load_richs_help_formatter(arguments):
    assert "loaded: []" in loaded(arguments, FORMATTER)


@pytest.mark.parametrize("arguments", [["--help"], ["run", "--help"], ["serve", "--help"]])
def test_help_imports_neither_rich_nor_anything_deferred(arguments):
    assert "loaded: []" in loaded(arguments, ("rich", *DEFERRED), status=0)


@pytest.mark.parametrize("arguments", PARSER_ERRORS, ids=" ".join)
def test_the_parsers_usage_errors_import_neither_rich_nor_anything_deferred(arguments):
    assert "loaded: []" in loaded(arguments, ("rich", *DEFERRED), status=2)


@pytest.mark.parametrize("arguments", COMMAND_ERRORS, ids=" ".join)
def test_the_commands_usage_errors_import_nothing_deferred(arguments):
    assert "loaded: []" in loaded(arguments, DEFERRED, status=2)


def test_the_tool_choice_check_lists_the_builtin_tools_without_their_run_time_libraries():
    assert "loaded: []" in loaded(["run", "hi", "--tool-choice", "nosuchtool"], RUN_TIME_ONLY + FORMATTER)


def test_the_tools_still_load_their_libraries_when_they_run(tmp_path):
    probe = ("import asyncio, sys; from a3agent.tools import Toolbox, ToolCall, http_get_tool; "
             "asyncio.run(Toolbox([http_get_tool()]).invoke(ToolCall('http_get', {'url': 'ftp://x'}))); "
             "print(sorted(m for m in ('httpx', 'jsonschema') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "['httpx', 'jsonschema']", done.stderr


def test_what_the_fast_checks_know_by_name_is_what_the_loaded_parts_hold():
    """The names the usage checks use without importing tools, grammar engine or model are theirs."""
    from a3agent.cli.models import SCRIPT_NAMES
    from a3agent.cli.settings import THINK_DEFAULTS
    from a3agent.cli.toolspec import BUILTIN_TOOL_NAMES
    from a3agent.grammars import Thinking
    from a3agent.model import scripted
    from a3agent.tools import builtin_tools

    assert BUILTIN_TOOL_NAMES == tuple(tool.name for tool in builtin_tools())
    assert THINK_DEFAULTS == (Thinking().min_tokens, Thinking().max_tokens)
    assert SCRIPT_NAMES == scripted.SCRIPT_NAMES
