"""`a3agent --help` and usage errors import only what they need: not rich's help formatter (markdown-it,
pygments, attrs), and for the `--tool-choice` check against the built-in tools not the libraries the
tools use only when they run (httpx, turbohtml, jsonschema). Startup time itself is measured by
`benchmarks/startup.py`, never asserted here."""

import subprocess
import sys

import pytest

PROBE = ("import atexit, sys; atexit.register(lambda: print('loaded:', sorted(m for m in {names!r} if m in "
         "sys.modules))); from a3agent.cli.app import main; main()")
FORMATTER = ("typer.rich_utils", "markdown_it", "pygments", "attr")
RUN_TIME_ONLY = ("httpx", "turbohtml", "jsonschema")


def loaded(arguments: list[str], names: tuple[str, ...]) -> str:
    probe = PROBE.format(names=set(names))
    done = subprocess.run([sys.executable, "-c", probe, *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 2), done.stderr
    return done.stdout


@pytest.mark.parametrize("arguments", [["--help"], ["run", "hi", "--temperature", "-1"], ["run", "--help"]])
def test_help_and_parser_errors_do_not_load_richs_help_formatter(arguments):
    assert "loaded: []" in loaded(arguments, FORMATTER)


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
