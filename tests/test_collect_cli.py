"""The commands: collect (examples, a run, a resumed run), export (rows, pairs) and their usage errors."""

import json

from typer.testing import CliRunner

from a3agent.cli.app import app
from a3agent.collect.examples import EXAMPLE_TASKS

runner = CliRunner()
SCRIPTED = ["--model", "scripted:image_drift", "--tool-choice", "crop", "--max-steps", "4", "--max-new-tokens", "128"]


def test_make_examples_then_collect_resume_export_and_pairs(tmp_path):
    made = runner.invoke(app, ["collect", "--make-examples", str(tmp_path / "ex")])
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in (tmp_path / "ex" / "images").iterdir()) == ["chart.png", "clock.png", "corner.png",
                                                                              "crate.png", "receipt.png"]
    tasks = tmp_path / "ex" / "two.jsonl"
    tasks.write_text(json.dumps(EXAMPLE_TASKS[0]) + "\n{oops\n", encoding="utf-8")
    out = tmp_path / "run"
    first = runner.invoke(app, ["collect", str(tasks), "--out", str(out), "--unconstrained-too", *SCRIPTED])
    assert first.exit_code == 0, first.output
    assert f"{tasks}:2: skipped: not JSON" in first.stderr
    assert "2 episodes written (1 passed their checks, 0 ended by an error), 0 already there, 1 bad task lines" in first.stdout
    again = runner.invoke(app, ["collect", str(tasks), "--out", str(out), "--unconstrained-too", *SCRIPTED])
    assert again.exit_code == 0, again.output
    assert "0 episodes written" in again.stdout and "2 already there" in again.stdout
    assert len((out / "trajectories.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    rows = runner.invoke(app, ["export", str(out), "--out", str(tmp_path / "rows.jsonl")])
    assert rows.exit_code == 0, rows.output
    assert rows.stdout.startswith("2 rows written") and len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2
    pairs = runner.invoke(app, ["export", str(out), "--format", "pairs", "--out", str(tmp_path / "pairs.jsonl")])
    assert pairs.exit_code == 0 and pairs.stdout.startswith("1 preference pairs written"), pairs.output


def test_collect_without_tasks_or_out_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["collect", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "collect needs TASKS and --out DIR" in result.stderr


def test_an_unknown_tool_choice_is_refused_before_any_episode(tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps({"id": "a", "prompt": "x"}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["collect", str(tasks), "--out", str(tmp_path / "o"), "--model", "scripted:image_drift",
                                 "--tool-choice", "teleport"])
    assert result.exit_code == 1 and "tool_choice 'teleport'" in result.stderr
    assert not (tmp_path / "o" / "trajectories.jsonl").exists()


def test_the_progress_bar_shows_done_of_planned_passed_errors_and_an_eta(tmp_path):
    import io
    from types import SimpleNamespace

    from rich.console import Console

    from a3agent.cli.collecting import CollectBar
    from a3agent.collect.tasks import BadLine

    written = io.StringIO()
    bar = CollectBar(Console(file=written, force_terminal=True, width=120, color_system=None), tmp_path / "t.jsonl")
    bar.planned(3, 2, [BadLine(4, "not JSON")])
    bar.finished(SimpleNamespace(checks=SimpleNamespace(passed=True), stop_reason="answer"))
    bar.finished(SimpleNamespace(checks=SimpleNamespace(passed=None), stop_reason="error"))
    bar.bar.stop()
    shown = written.getvalue()
    assert f"{tmp_path / 't.jsonl'}:4: skipped: not JSON" in shown and "2 episodes already in the folder" in shown
    last = shown.rsplit("\r", 1)[-1]
    assert "2/3 passed 1 · errors 1" in last and "ETA 0:00:" in last
