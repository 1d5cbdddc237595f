"""The `a3agent` commands other than the REPL: run, grammar, demo, tiny-model, bench, and their errors."""

import json
import os
import subprocess
import sys

import jsonschema
import lark
import pytest
from typer.testing import CliRunner

from a3agent.cli.app import app
from a3agent.cli.failures import error_line
from a3agent.cli.lines import LineReader
from a3agent.cli.stats import stats_line
from a3agent.cli.toolspec import load_toolbox
from a3agent.errors import CommandLineError, ImageError, ModelNotFound, UnsupportedSchema
from a3agent.model.decode import DecodeCounters

runner = CliRunner()
WEATHER = ["--model", "scripted:weather_episode", "--tools", "weather_tools:tools"]


@pytest.fixture
def in_tools_dir(tools_dir, monkeypatch):
    monkeypatch.chdir(tools_dir)
    return tools_dir


# -- a3agent run --------------------------------------------------------------------------------


def test_run_prints_the_final_answer(in_tools_dir):
    result = runner.invoke(app, ["run", "What's the weather in London?", *WEATHER])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "It's 14 °C and cloudy in London right now."


def test_run_json_validates_against_the_run_result_schema(in_tools_dir, sample_image_file):
    from a3agent.agent.result import RunResult

    result = runner.invoke(app, ["run", "Weather?", "--image", str(sample_image_file), "--json", *WEATHER])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, RunResult.model_json_schema())
    assert [call["name"] for step in document["steps"] for call in step["calls"]] == ["get_weather"]
    assert document["steps"][0]["results"][0]["parts"][0]["text"].startswith("14 degrees and cloudy in")


def test_run_denies_a_tool_that_needs_approval(in_tools_dir):
    result = runner.invoke(app, ["run", "Weather?", "--json", "--model", "scripted:weather_episode",
                                 "--tools", "weather_tools:guarded"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)["steps"][0]["results"][0]
    assert first["is_error"] and "denied" in first["parts"][0]["text"]


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (["--image", "no-such.png"], "image error: no-such.png: no such file"),
        (["--model", "./no-such-model"], "model error: no-such-model does not exist"),
        (["--model", "scripted:nonsense"], "error: unknown script 'nonsense'"),
        (["--tools", "no_such_module:tools"], "error: bad --tools 'no_such_module:tools': cannot import"),
        (["--tools", "weather_tools"], "error: bad --tools 'weather_tools': give 'builtin' or 'module:attr'"),
        (["--tools", "weather_tools:nothing"], "error: bad --tools 'weather_tools:nothing': module"),
        (["--dialect", "yaml"], "grammar error: unknown dialect 'yaml'"),
    ],
)
def test_run_failure_is_one_line_on_stderr_and_exit_status_1(in_tools_dir, arguments, line):
    result = runner.invoke(app, ["run", "hi", *WEATHER, *arguments])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(line)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(in_tools_dir):
    result = runner.invoke(app, ["run", "hi", *WEATHER, "--image", "no-such.png", "--debug"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "image error: no-such.png" in result.stderr


def test_an_unreadable_image_is_refused(in_tools_dir, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    result = runner.invoke(app, ["run", "hi", *WEATHER, "--image", str(broken)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"image error: {broken}: not a readable image")


# -- a3agent grammar ----------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [[], ["--dialect", "qwen3-xml"], ["--no-think", "--tool-choice", "required"]])
def test_grammar_prints_a_grammar_that_lark_loads(arguments):
    result = runner.invoke(app, ["grammar", *arguments])
    assert result.exit_code == 0, result.output
    lark.Lark(result.stdout)
    assert "crop" in result.stdout


def test_grammar_names_the_user_tools(in_tools_dir):
    result = runner.invoke(app, ["grammar", "--tools", "weather_tools:tools", "--tool-choice", "get_weather"])
    assert result.exit_code == 0, result.output
    assert "get_weather_args" in result.stdout and "crop" not in result.stdout


# -- a3agent demo, tiny-model, bench ------------------------------------------------------------


def test_demo_exits_zero_and_shows_both_episodes():
    done = subprocess.run([sys.executable, "-c", "from a3agent.cli.app import main; main()", "demo"],
                          capture_output=True, text=True, timeout=300, env=os.environ | {"COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    for seen in ("unconstrained", "constrained", "api.openweathermap.org", "tool error · malformed call", "you wrote an HTTP", "tool call · get_weather",
                 "tool call · crop", "image img_1", "prompt "):
        assert seen in done.stdout


def test_tiny_model_refuses_an_existing_folder(tmp_path):
    result = runner.invoke(app, ["tiny-model", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_bench_refuses_an_unknown_benchmark():
    result = runner.invoke(app, ["bench", "speed"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: unknown benchmark 'speed'")


# -- the pieces ---------------------------------------------------------------------------------


def test_error_lines_name_the_kind_of_error():
    assert error_line(ImageError("a.png: no such file")) == "image error: a.png: no such file"
    assert error_line(ModelNotFound("x does not exist")) == "model error: x does not exist"
    assert error_line(UnsupportedSchema("/x", "not", "why")) == "grammar error: /x: unsupported 'not': why"
    assert error_line(CommandLineError("unknown command /x")) == "error: unknown command /x"
    assert error_line(ValueError("boom")).startswith("internal error: ValueError: boom (rerun with --debug")


def test_stats_line_reports_reuse_forcing_speed_and_mask_cost():
    counters = DecodeCounters(prompt=100, reused=80, forwarded=20, generated=10, forced=4,
                              prefill_s=0.1, decode_s=0.3, mask_s=0.1)
    assert stats_line(counters) == ("prompt 100 · reused 80 · generated 10 · forced 4 · 20.0 tok/s · "
                                    "mask 10.00 ms/tok")


def test_toolspec_takes_a_toolbox_a_tool_or_a_list(in_tools_dir):
    assert [tool.name for tool in load_toolbox("weather_tools:tools")] == ["get_weather"]
    assert [tool.name for tool in load_toolbox("weather_tools:get_weather")] == ["get_weather"]
    assert "crop" in load_toolbox("builtin")
    with pytest.raises(CommandLineError, match="is not a Toolbox"):
        load_toolbox("weather_tools:__doc__")


def test_line_reader_joins_a_triple_quoted_block(tmp_path, monkeypatch):
    typed = iter(['"""first line', "", "last line", '"""', '"""one line"""', "plain"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    reader = LineReader(tmp_path / "history")
    assert reader.read() == "first line\n\nlast line"
    assert reader.read() == "one line"
    assert reader.read() == "plain"
