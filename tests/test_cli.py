"""The `a3agent` commands other than the REPL: run, grammar, demo, tiny-model, bench, and their errors."""

import json
import os
import subprocess
import sys
from typing import get_args

import jsonschema
import lark
import pytest
from typer.testing import CliRunner

import a3agent
from a3agent.cli.app import app
from a3agent.cli.failures import error_json, error_line, failure_of
from a3agent.cli.lines import LineReader
from a3agent.cli.stats import stats_line
from a3agent.cli.toolspec import load_toolbox
from a3agent.errors import CommandLineError, ImageError, ModelNotFound, UnsupportedSchema
from a3agent.model.decode import DecodeCounters

runner = CliRunner()
WEATHER = ["--model", "scripted:weather_episode", "--tools", "weather_tools:tools"]


REFUSED_TOOLS = '''
from a3agent.tools import Tool

SPEC = {"name": "tag", "description": "Tag items.",
        "parameters": {"type": "object", "properties": {"items": {"type": "array", "uniqueItems": True}}}}
tools = [Tool.from_schema(SPEC, lambda items: items)]
'''


@pytest.fixture
def in_tools_dir(tools_dir, monkeypatch):
    """The tools folder, with `refused_tools.py` too: a tool whose schema the grammar engine refuses."""
    (tools_dir / "refused_tools.py").write_text(REFUSED_TOOLS, encoding="utf-8")
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
    ("arguments", "line", "status"),
    [
        (["--image", "no-such.png"], "image error: no-such.png: no such file", 3),
        (["--model", "./no-such-model"], "model error: no-such-model does not exist", 3),
        (["--model", "scripted:nonsense"], "error: unknown script 'nonsense'", 2),
        (["--tools", "no_such_module:tools"], "error: bad --tools 'no_such_module:tools': cannot import", 2),
        (["--tools", "weather_tools"], "error: bad --tools 'weather_tools': give 'builtin', 'none' or 'module:attr'", 2),
        (["--tools", "weather_tools:nothing"], "error: bad --tools 'weather_tools:nothing': module", 2),
        (["--tools", "refused_tools:tools"], "tool error: ", 4),
    ],
)
def test_run_failure_is_one_line_on_stderr_with_the_exit_status_of_its_kind(in_tools_dir, arguments, line, status):
    result = runner.invoke(app, ["run", "hi", *WEATHER, *arguments])
    assert result.exit_code == status, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(line)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--temperature", "-1"], "--temperature"),
        (["--dialect", "foo"], "'foo' is not one of"),
        (["--min-think", "100", "--max-think", "10"], "--min-think 100 is more than --max-think 10"),
        (["--min-think", "2000"], "bad think bounds: min 2000 is more than max"),
        (["--tool-choice", "nosuchtool"], "unknown --tool-choice 'nosuchtool'"),
        (["--tools", "none", "--tool-choice", "required"], "--tool-choice required needs at least one tool"),
        (["--top-p", "0"], "--top-p"),
        (["--max-steps", "0"], "--max-steps"),
        (["--max-new-tokens", "0"], "--max-new-tokens"),
    ],
)
def test_bad_options_are_usage_errors_found_before_the_model_loads(arguments, message):
    # the model does not exist: had it been loaded first, the error would be a model error (status 3)
    result = runner.invoke(app, ["run", "hi", "--model", "./no-such-model", *arguments])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["run", "hi", "--temperature", "-1"],
        ["run", "hi", "--dialect", "foo"],
        ["run", "hi", "--min-think", "100", "--max-think", "10"],
        ["run", "hi", "--tool-choice", "nosuchtool"],
    ],
)
def test_help_and_usage_errors_do_not_import_torch(arguments):
    probe = ("import atexit, sys; atexit.register(lambda: print('heavy:', sorted({'torch', 'transformers'} & "
             "set(sys.modules)))); from a3agent.cli.app import main; main()")
    done = subprocess.run([sys.executable, "-c", probe, *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == (0 if arguments == ["--help"] else 2), done.stderr
    assert "heavy: []" in done.stdout


def test_dialect_choices_are_the_grammars_dialects():
    from a3agent.cli.options import Dialect
    from a3agent.grammars import DIALECTS

    assert set(get_args(get_args(Dialect)[0])) == set(DIALECTS)


@pytest.mark.parametrize(
    ("arguments", "kind", "status"),
    [
        (["--temperature", "-1"], "usage", 2),
        (["--tool-choice", "nosuchtool"], "usage", 2),
        (["--model", "./no-such-model"], "model_not_found", 3),
        (["--image", "no-such.png"], "file_not_found", 3),
        (["--tools", "refused_tools:tools"], "schema_refused", 4),
    ],
)
def test_json_errors_are_json_with_a_stable_type(in_tools_dir, arguments, kind, status):
    result = runner.invoke(app, ["run", "hi", "--json", *WEATHER, *arguments])
    assert result.exit_code == status, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == kind and error["message"]
    assert result.stderr == ""


def test_an_interrupted_run_exits_130_and_says_so_in_json():
    assert failure_of(KeyboardInterrupt()).status == 130
    assert json.loads(error_json(KeyboardInterrupt())) == {"error": {"type": "interrupted", "message": "interrupted"}}


def test_version_prints_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"a3agent {a3agent.__version__}"


def test_run_dash_reads_the_task_from_stdin(in_tools_dir):
    result = runner.invoke(app, ["run", "-", "--json", *WEATHER], input="What's the weather in London?\n")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["text"] == "It's 14 °C and cloudy in London right now."


def test_run_dash_refuses_an_empty_stdin(in_tools_dir):
    result = runner.invoke(app, ["run", "-", *WEATHER], input="")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: run -: stdin held no task")


def test_tools_none_offers_no_tools_and_the_budgets_bound_the_run(in_tools_dir):
    result = runner.invoke(app, ["run", "Weather?", "--json", "--model", "scripted:weather_episode", "--tools", "none",
                                 "--max-steps", "1", "--max-new-tokens", "12"])
    assert result.exit_code == 0, result.output
    steps = json.loads(result.stdout)["steps"]
    assert len(steps) == 1 and steps[0]["calls"] == []
    assert steps[0]["counters"]["generated"] <= 12


def test_sampling_options_reach_the_agent(in_tools_dir):
    from a3agent.cli.options import settings_from
    from a3agent.cli.settings import build_agent
    from a3agent.model.scripted import load_scripted

    settings = settings_from(system=None, no_think=False, min_think=None, max_think=None, unconstrained=False,
                             dialect="hermes-json", tool_choice="auto", temperature=0.7, top_p=0.5, seed=3,
                             max_new_tokens=None, max_steps=None)
    agent = build_agent(load_scripted("weather_episode"), load_toolbox("none"), settings, None)
    assert (agent.options.sampling.top_p, agent.options.sampling.temperature, agent.options.sampling.seed) == (0.5, 0.7, 3)


def test_an_unusable_a3agent_home_is_named_by_its_variable(in_tools_dir):
    result = runner.invoke(app, ["run", "hi", *WEATHER], env={"A3AGENT_HOME": "/proc/nope"})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: A3AGENT_HOME=/proc/nope: cannot create that folder")


def test_device_cuda_without_cuda_is_a_usage_error_in_plain_words():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this torch has a GPU: --device cuda is fine here")
    result = runner.invoke(app, ["run", "hi", "--device", "cuda"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --device cuda: this torch ({torch.__version__})")
    assert "use --device cpu" in result.stderr


def test_debug_shows_the_traceback(in_tools_dir):
    result = runner.invoke(app, ["run", "hi", *WEATHER, "--image", "no-such.png", "--debug"])
    assert result.exit_code == 3
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


def test_demo_shows_a_correct_constrained_call_and_an_answered_image_episode():
    done = subprocess.run([sys.executable, "-c", "from a3agent.cli.app import main; main()", "demo"],
                          capture_output=True, text=True, timeout=600, env=os.environ | {"COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    shown = " ".join(done.stdout.split())  # captions wrap at the terminal's width
    for seen in ("unconstrained", "constrained", "api.openweathermap.org", "tool error · malformed call",
                 "you wrote an HTTP", "tool call · get_weather", '"city": "London"', "14 °C and cloudy in London",
                 'so the model writes the call it meant: get_weather({"city": "London"})',
                 "tool call · crop", "image img_1", "prompt ", "and then it answered"):
        assert seen in shown
    assert '"city": ""' not in shown and "the run reached its step limit" not in shown


def test_tiny_model_refuses_an_existing_folder(tmp_path):
    result = runner.invoke(app, ["tiny-model", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exists" in result.stderr


def test_bench_refuses_an_unknown_benchmark():
    result = runner.invoke(app, ["bench", "speed"])
    assert result.exit_code == 2
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


@pytest.mark.parametrize("debug", [False, True])
def test_transformers_loading_progress_shows_only_with_debug(capfd, debug):
    import io

    from rich.console import Console

    from a3agent.cli.models import open_model
    from a3agent.model.tiny import tiny_checkpoint

    open_model(str(tiny_checkpoint()), Console(file=io.StringIO()), debug=debug)
    assert ("Loading weights" in capfd.readouterr().err) == debug


def test_a_command_freezes_the_start_up_heap_once_its_model_is_loaded():
    """Full collections during decoding then skip torch's and transformers' objects."""
    import gc
    import io

    from rich.console import Console

    from a3agent.cli.models import open_model

    gc.unfreeze()
    try:
        open_model("scripted:weather_episode", Console(file=io.StringIO()))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
