"""`report`: the rates of a hand-built trajectory set equal the hand-computed values, in every format."""

import json

import pytest
from typer.testing import CliRunner

from a3agent.agent import Step
from a3agent.agent.messages import TextPart, ToolCallPart, ToolResultPart
from a3agent.cli.app import app
from a3agent.collect import Checks, Episode, StepNotes, TrajectoryStore, summarize
from a3agent.collect.plot import plotting_available
from a3agent.model.decode import DecodeCounters

runner = CliRunner()


def _step(index, thinking, text="", calls=(), results=(), generated=0, forced=0):
    return Step(index=index, thinking=thinking, text=text, calls=list(calls), results=list(results),
                finish_reason="stop", counters=DecodeCounters(generated=generated, forced=forced), wall_s=0.0)


def _call(call_id, name):
    return ToolCallPart(id=call_id, name=name, arguments={})


def _result(call_id, name, error=False):
    return ToolResultPart(call_id=call_id, name=name, parts=[TextPart(text="r")], is_error=error)


def _episode(task, mode, steps, notes, passed, stop="answer"):
    counters = DecodeCounters(generated=sum(s.counters.generated for s in steps), forced=sum(s.counters.forced for s in steps))
    return Episode(task_id=task, sample=0, seed=0, model="m", mode=mode, thinking=True, tools=[], messages=[],
                   images={}, steps=steps, notes=notes, stop_reason=stop, answer="", counters=counters, wall_s=0.0,
                   checks=Checks(calls=passed) if passed is not None else Checks())


# constrained A: thinks, one valid call that works, then answers; passes; 30 tokens, 6 forced
A = _episode("a", "constrained", [
    _step(1, "look", calls=[_call("c0", "crop")], results=[_result("c0", "crop")], generated=20, forced=5),
    _step(2, "done", text="answer", generated=10, forced=1),
], [StepNotes(valid_calls=[True], drafted_request=False), StepNotes(valid_calls=[], drafted_request=False)], True)
# constrained B: empty think; a valid call whose tool fails and an invalid one; fails; 20 tokens, 4 forced
B = _episode("b", "constrained", [
    _step(1, "", calls=[_call("c0", "crop"), _call("c1", "zoom")],
          results=[_result("c0", "crop", error=True), _result("c1", "zoom", error=True)], generated=20, forced=4),
], [StepNotes(valid_calls=[True, False], drafted_request=False)], False)
# constrained C: no checks asked, ended by an error before any step
C = _episode("c", "constrained", [], [], None, stop="error")
# unconstrained A: empty think and a drafted request (a malformed call), then an empty-think answer; fails
U = _episode("a", "unconstrained", [
    _step(1, "", text="GET https://x.example/crop", results=[_result(None, "", error=True)], generated=7),
    _step(2, "", text="answer", generated=3),
], [StepNotes(valid_calls=[], drafted_request=True), StepNotes(valid_calls=[], drafted_request=False)], False)


@pytest.fixture
def folder(tmp_path):
    store = TrajectoryStore(tmp_path)
    for episode in (A, B, C, U):
        store.append(episode)
    return tmp_path


def test_rates_equal_the_hand_computed_values(folder):
    constrained, unconstrained = summarize(TrajectoryStore(folder).episodes())
    assert (constrained.mode, unconstrained.mode) == ("constrained", "unconstrained")
    assert constrained.rate("empty_think") == (1, 3) and unconstrained.rate("empty_think") == (2, 2)
    assert constrained.rate("valid_calls") == (2, 3) and unconstrained.rate("valid_calls") == (0, 1)
    assert constrained.rate("drafted_url") == (0, 3) and unconstrained.rate("drafted_url") == (1, 2)
    assert constrained.rate("tool_errors") == (1, 2) and unconstrained.value("tool_errors") is None
    assert constrained.rate("checks_passed") == (1, 2) and unconstrained.rate("checks_passed") == (0, 1)
    assert constrained.rate("forced_share") == (10, 50) and unconstrained.rate("forced_share") == (0, 10)
    assert constrained.steps_per_task == 1.0 and unconstrained.steps_per_task == 2.0  # 3 steps over 3 episodes
    assert constrained.tokens_per_task == 50 / 3 and unconstrained.tokens_per_task == 10.0
    assert (constrained.episodes, constrained.errors) == (3, 1)


def test_json_report_carries_the_same_numbers(folder):
    result = runner.invoke(app, ["report", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    constrained, unconstrained = json.loads(result.stdout)
    assert constrained["rates"]["valid_calls"] == {"value": 2 / 3, "count": 2, "total": 3}
    assert unconstrained["rates"]["drafted_url"] == {"value": 0.5, "count": 1, "total": 2}
    assert unconstrained["rates"]["tool_errors"] == {"value": None, "count": 0, "total": 0}


def test_markdown_report_puts_the_modes_side_by_side(folder):
    result = runner.invoke(app, ["report", str(folder), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| metric | m · constrained | m · unconstrained |"
    assert "| empty-think rate | 33.3 % (1/3) | 100.0 % (2/2) |" in lines
    assert "| drafted-URL rate | 0.0 % (0/3) | 50.0 % (1/2) |" in lines
    assert "| tool error rate | 50.0 % (1/2) | n/a |" in lines


def test_the_terminal_table_and_the_plot_or_its_absence(folder, tmp_path):
    png = tmp_path / "report.png"
    result = runner.invoke(app, ["report", str(folder), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert "valid-call rate" in result.stdout and "66.7 % (2/3)" in result.stdout
    if plotting_available():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "no plot: matplotlib is not installed" in result.stderr and not png.exists()


def test_a_folder_without_trajectories_is_one_error_line(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1 and "trajectories.jsonl: no such file" in result.stderr
