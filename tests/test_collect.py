"""`collect`: the example set through the scripted image_drift model, constrained and unconstrained, into
trajectories; bad lines, failing tools, refused images and budgets recorded, not raised; resuming."""

import json
from typing import Annotated, Any

import pytest
from pydantic import Field

from a3agent.collect import (
    CollectOptions,
    TrajectoryStore,
    collect_trajectories,
    write_examples,
)
from a3agent.collect.examples import EXAMPLE_TASKS, tasks_text
from a3agent.errors import ToolFailed
from a3agent.tools import ImageId, Toolbox, ToolContext, builtin_tools, crop, tool

OPTIONS = CollectOptions(modes=("constrained", "unconstrained"), tool_choice="crop", max_steps=4, max_new_tokens=128)
PASSING = {"crate-fruits", "crate-top-left", "two-images"}  # the tasks whose checks image_drift's one script meets


@tool(name="crop")
def picky_crop(
    image: ImageId, bbox: Annotated[list[float], Field(min_length=4, max_length=4)], ctx: ToolContext
) -> list[Any]:
    """Cut a rectangle out of an image, through a service that refuses images wider than 600 px.

    Args:
        image: Id of the image.
        bbox: [x0, y0, x1, y1], fractions or pixels.
    """
    if ctx.images.get(image).width > 600:
        raise ToolFailed("the crop service refuses images wider than 600 px")
    return crop.function(image, bbox, ctx)


EXTRA_LINES = [
    '{"id": "not json"',  # line 11: malformed
    json.dumps({"id": "missing-image", "prompt": "What is this?", "images": ["images/nowhere.png"], "tools": ["crop"]}),
]


@pytest.fixture(scope="module")
def scripted():
    from a3agent.model.scripted import load_scripted

    return load_scripted("image_drift")


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory):
    path = write_examples(tmp_path_factory.mktemp("tasks"))
    with path.open("a", encoding="utf-8") as file:
        file.write("\n".join(EXTRA_LINES) + "\n")
    return path


def toolbox():
    """The built-in tools, their crop failing on the chart (640 px wide)."""
    return Toolbox([*(t for t in builtin_tools() if t.name != "crop"), picky_crop])


@pytest.fixture(scope="module")
def collected(tmp_path_factory, scripted, tasks_file):
    out = tmp_path_factory.mktemp("run")
    summary = collect_trajectories(tasks_file, out, scripted, toolbox(), OPTIONS, model_name="scripted:image_drift")
    episodes = {(e.task_id, e.mode): e for e in TrajectoryStore(out).episodes()}
    return out, summary, episodes


def test_the_shipped_tasks_file_is_the_one_the_generator_writes():
    from pathlib import Path

    shipped = Path(__file__).parent.parent / "examples" / "collect" / "tasks.jsonl"
    assert shipped.read_text(encoding="utf-8") == tasks_text()
    assert len(EXAMPLE_TASKS) == 10


def test_a_malformed_line_is_reported_with_its_number_and_the_rest_run(collected):
    _, summary, episodes = collected
    assert summary.bad_count == 1
    assert summary.bad_lines[0].number == 11 and summary.bad_lines[0].message.startswith("not JSON")
    assert summary.tasks == 11 and summary.written == 22 and len(episodes) == 22


def test_each_line_of_the_file_is_one_episode_with_a_unique_key(collected):
    out, _, _ = collected
    lines = (out / "trajectories.jsonl").read_text(encoding="utf-8").splitlines()
    keys = [tuple(json.loads(line)[k] for k in ("model", "mode", "task_id", "sample")) for line in lines]
    assert len(lines) == 22 and len(set(keys)) == 22
    assert {key[0] for key in keys} == {"scripted:image_drift"}


def test_constrained_episode_thinks_calls_crop_sees_the_crop_and_answers(collected):
    out, _, episodes = collected
    episode = episodes["crate-fruits", "constrained"]
    first, second = episode.steps
    assert first.thinking.strip() and second.thinking.strip()
    assert [(c.name, c.arguments) for c in first.calls] == [("crop", {"image": "img_0", "bbox": [0, 0, 0.5, 0.5]})]
    assert episode.notes[0].valid_calls == [True] and not episode.notes[0].drafted_request
    result = first.results[0]
    assert not result.is_error and [p.kind for p in result.parts] == ["text", "text", "image"]
    assert sorted(episode.images) == ["img_0", "img_1"]  # the task's image, and the crop
    assert all((out / path).is_file() for path in episode.images.values())
    assert episode.stop_reason == "answer" and "apricot" in episode.answer
    assert episode.checks.calls is True and episode.checks.answer is True
    assert episode.counters.forced > 0
    assert [m.role for m in episode.messages] == ["user", "assistant", "tool", "assistant"]


def test_unconstrained_episode_shows_the_card_defects(collected):
    _, _, episodes = collected
    episode = episodes["crate-fruits", "unconstrained"]
    first = episode.steps[0]
    assert first.thinking == "" and not first.calls
    assert "GET https://" in first.text and episode.notes[0].drafted_request
    assert first.results[0].call_id is None and first.results[0].is_error
    assert episode.checks.calls is False and episode.checks.passed is False
    assert episode.counters.forced == 0


def test_only_the_tasks_the_script_meets_pass(collected):
    _, summary, episodes = collected
    passed = {task for (task, mode), e in episodes.items() if e.checks.passed}
    assert passed == PASSING and all(episodes[task, "constrained"].checks.passed for task in PASSING)
    assert summary.passed == len(PASSING)


def test_the_report_shows_the_card_defects_unconstrained_and_not_constrained(collected):
    from a3agent.collect import summarize

    out, _, _ = collected
    constrained, unconstrained = summarize(TrajectoryStore(out).episodes())
    assert constrained.rate("empty_think")[0] == 0 and constrained.rate("drafted_url")[0] == 0
    assert constrained.value("valid_calls") == 1.0 and constrained.value("forced_share") > 0
    assert unconstrained.value("empty_think") == 1.0 and unconstrained.value("valid_calls") == 0.0
    assert unconstrained.rate("drafted_url") == (10, 20)  # each finished episode: a drafted request, then an answer


def test_the_report_command_on_the_scripted_run_puts_the_defects_in_the_unconstrained_column(collected):
    from typer.testing import CliRunner

    from a3agent.cli.app import app

    out, _, _ = collected
    result = CliRunner().invoke(app, ["report", str(out), "--format", "markdown"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| metric | scripted:image_drift · constrained | scripted:image_drift · unconstrained |"
    assert "| empty-think rate | 0.0 % (0/20) | 100.0 % (20/20) |" in lines
    assert "| drafted-URL rate | 0.0 % (0/20) | 50.0 % (10/20) |" in lines
    assert "| valid-call rate | 100.0 % (10/10) | 0.0 % (0/10) |" in lines


def test_a_failing_tool_is_an_error_result_and_the_episode_goes_on(collected):
    _, _, episodes = collected
    episode = episodes["chart-tallest", "constrained"]
    first = episode.steps[0]
    assert [c.name for c in first.calls] == ["crop"] and episode.notes[0].valid_calls == [True]
    assert first.results[0].is_error and "refuses images wider than 600 px" in first.results[0].parts[0].text
    assert episode.stop_reason == "answer" and len(episode.steps) == 2
    assert episode.checks.calls is False  # made validly, but a call whose tool failed did not do its job


def test_a_refused_image_ends_its_episode_with_the_error_recorded(collected, tmp_path):
    _, summary, episodes = collected
    for mode in ("constrained", "unconstrained"):
        episode = episodes["missing-image", mode]
        assert episode.stop_reason == "error" and episode.error.startswith("ImageError: ")
        assert "nowhere.png" in episode.error and episode.steps == [] and episode.images == {}
    assert summary.errors == 2


def test_a_second_run_skips_every_finished_episode(collected, scripted, tasks_file):
    out, _, _ = collected
    before = (out / "trajectories.jsonl").read_bytes()
    summary = collect_trajectories(tasks_file, out, scripted, toolbox(), OPTIONS, model_name="scripted:image_drift")
    assert summary.written == 0 and summary.skipped == 22
    assert (out / "trajectories.jsonl").read_bytes() == before


class _StopAfter:
    """A progress listener that presses Ctrl-C after `n` episodes."""

    def __init__(self, n):
        self.n, self.seen, self.total = n, 0, None

    def planned(self, total, skipped, bad_lines):
        self.total = total

    def finished(self, episode):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_without_duplicates(tmp_path, scripted, tasks_file):
    options = CollectOptions(modes=("unconstrained",), max_steps=2, max_new_tokens=64)
    with pytest.raises(KeyboardInterrupt):
        collect_trajectories(tasks_file, tmp_path, scripted, toolbox(), options, _StopAfter(3), model_name="s")
    path = tmp_path / "trajectories.jsonl"
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3
    with path.open("ab") as file:  # a crash in the middle of writing a fourth line
        file.write(b'{"format": "a3agent-trajectory", "task_')
    listener = _StopAfter(0)
    summary = collect_trajectories(tasks_file, tmp_path, scripted, toolbox(), options, listener, model_name="s")
    assert listener.total == 11 - 3 and summary.written == 8 and summary.skipped == 3
    episodes = list(TrajectoryStore(tmp_path).episodes())
    assert sorted(e.task_id for e in episodes) == sorted([t["id"] for t in EXAMPLE_TASKS] + ["missing-image"])


def test_samples_get_distinct_seeds(tmp_path, scripted, tasks_file):
    one_task = tmp_path / "one.jsonl"
    one_task.write_text(json.dumps(EXAMPLE_TASKS[0] | {"images": [str(tasks_file.parent / "images" / "crate.png")]}) + "\n")
    options = CollectOptions(samples=3, modes=("unconstrained",), max_steps=2, max_new_tokens=32, seed=7, temperature=0.7)
    collect_trajectories(one_task, tmp_path / "out", scripted, toolbox(), options)
    episodes = list(TrajectoryStore(tmp_path / "out").episodes())
    assert [(e.sample, e.seed) for e in episodes] == [(0, 7), (1, 8), (2, 9)]


def test_time_and_token_budgets_stop_an_episode_and_are_recorded(tmp_path, scripted, tasks_file):
    one_task = tmp_path / "one.jsonl"
    one_task.write_text(json.dumps(EXAMPLE_TASKS[0] | {"images": [str(tasks_file.parent / "images" / "crate.png")]}) + "\n")
    timed = CollectOptions(modes=("constrained",), time_budget_s=0.0)
    collect_trajectories(one_task, tmp_path / "timed", scripted, toolbox(), timed)
    (episode,) = TrajectoryStore(tmp_path / "timed").episodes()
    assert episode.stop_reason == "time_budget" and episode.steps == [] and episode.checks.passed is False
    tokens = CollectOptions(modes=("unconstrained",), token_budget=5, max_steps=4)
    collect_trajectories(one_task, tmp_path / "tokens", scripted, toolbox(), tokens)
    (episode,) = TrajectoryStore(tmp_path / "tokens").episodes()
    assert episode.counters.generated == 5 and episode.steps[-1].finish_reason == "length"


def test_a_tasks_system_prompt_and_tool_subset_reach_the_episode_and_its_rows(tmp_path, scripted, tasks_file):
    from a3agent.collect import export_artemis

    one_task = tmp_path / "one.jsonl"
    task = EXAMPLE_TASKS[0] | {"images": [str(tasks_file.parent / "images" / "crate.png")],
                               "system": "You are a fruit inspector.", "tools": ["crop"]}
    one_task.write_text(json.dumps(task) + "\n")
    options = CollectOptions(tool_choice="crop", max_steps=4, max_new_tokens=128)
    collect_trajectories(one_task, tmp_path / "out", scripted, toolbox(), options)
    (episode,) = TrajectoryStore(tmp_path / "out").episodes()
    assert episode.messages[0].role == "system" and episode.messages[0].text == "You are a fruit inspector."
    assert [tool["function"]["name"] for tool in episode.tools] == ["crop"] and episode.checks.passed
    export_artemis(tmp_path / "out", tmp_path / "rows.jsonl", scripted)
    row = json.loads((tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()[0])
    system = row["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("You are a fruit inspector.\n\n# Tools")
    assert '"name": "crop"' in system["content"] and '"name": "zoom"' not in system["content"]


def test_episode_images_in_a_mode_png_cannot_hold_are_saved_as_rgb(tmp_path):
    from PIL import Image

    from a3agent.collect.store import TrajectoryStore
    from a3agent.tools import ImageStore

    images = ImageStore()
    image_id = images.add(Image.new("CMYK", (4, 3), (0, 255, 0, 0)))  # a CMYK JPEG from the web, say
    files = TrajectoryStore(tmp_path).save_images("episode-1", "tiny", images)
    with Image.open(tmp_path / files[image_id]) as saved:
        assert saved.mode == "RGB" and saved.size == (4, 3)
