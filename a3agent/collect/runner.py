"""`collect_trajectories`: every task of a tasks file, N samples, one or both modes, through the agent into an output folder.

Resumable: the episodes already in the folder's `trajectories.jsonl` (same model, mode, task and
sample; other options are not compared, so collect them into another folder) are skipped, and each finished episode is appended and fsynced before the next starts, so
Ctrl-C or a crash loses only the episode in flight. Cost is bounded by the tasks file's bounds
(`tasks.py`) times `samples` times the modes, each episode by its token and time budgets.

Not handled here: the terminal (the CLI draws the progress bar from `CollectProgress`), running
episodes in parallel (one model, one decode at a time).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from a3agent.agent import Agent
from a3agent.agent.result import total_counters
from a3agent.collect.checks import check_episode
from a3agent.collect.episode import Outcome, run_episode, step_notes
from a3agent.collect.options import CollectOptions
from a3agent.collect.store import TrajectoryStore
from a3agent.collect.tasks import BadLine, Task, TaskFile, read_tasks
from a3agent.collect.trajectory import Episode, EpisodeKey, Mode
from a3agent.model.loading import LoadedModel
from a3agent.model.sampling import SamplingParams
from a3agent.tools import Tool, Toolbox, builtin_tools

__all__ = ["CollectProgress", "CollectSummary", "collect_trajectories", "open_model"]


class CollectProgress(Protocol):
    """Told what a collection will do and each episode it finishes (the CLI's progress bar)."""

    def planned(self, total: int, skipped: int, bad_lines: list[BadLine]) -> None:
        """`total` episodes to run now, `skipped` already in the folder."""

    def finished(self, episode: Episode) -> None:
        """One episode was written."""


@dataclass
class CollectSummary:
    """What a collection did."""

    tasks: int = 0
    """Good tasks in the file."""
    bad_lines: list[BadLine] = field(default_factory=list)
    """The first bad lines of the tasks file (see `bad_count`)."""
    bad_count: int = 0
    skipped: int = 0
    """Episodes already in the folder."""
    written: int = 0
    """Episodes run and written now."""
    passed: int = 0
    """Of those, episodes whose checks passed."""
    errors: int = 0
    """Of those, episodes ended by an error (recorded in the trajectory)."""


def open_model(model: LoadedModel | str) -> LoadedModel:
    """`model` loaded: `scripted:NAME`, or what `load_model` takes."""
    if isinstance(model, LoadedModel):
        return model
    if model.startswith("scripted:"):
        from a3agent.model.scripted import load_scripted

        return load_scripted(model.removeprefix("scripted:"))
    from a3agent.model.loading import load_model

    return load_model(model)


def collect_trajectories(
    tasks: str | os.PathLike[str],
    out: str | os.PathLike[str],
    model: LoadedModel | str,
    tools: Toolbox | Iterable[Tool | Callable[..., Any]] | None = None,
    options: CollectOptions | None = None,
    progress: CollectProgress | None = None,
    *,
    model_name: str | None = None,
) -> CollectSummary:
    """Run every task of `tasks` into the folder `out`; tools default to `builtin_tools()`, options to
    `CollectOptions()`.

    `model` is a `LoadedModel` or what `load_model` takes, or `scripted:NAME`; episodes record it as
    `model_name`, by default the string given or the loaded model's source.
    Example: `collect_trajectories("examples/collect/tasks.jsonl", "runs/a", "scripted:image_drift")`
    """
    options = options or CollectOptions()
    toolbox = tools if isinstance(tools, Toolbox) else builtin_tools() if tools is None else Toolbox(tools)
    options.check([tool.name for tool in toolbox])
    found = read_tasks(tasks, [tool.name for tool in toolbox])
    loaded = open_model(model)
    name = model_name or (model if isinstance(model, str) else model.source)
    store = TrajectoryStore(out)
    done = store.finished()
    total = sum(1 for _ in _plan(found, options, name, done))
    summary = CollectSummary(tasks=len(found.tasks), bad_lines=found.bad_lines, bad_count=found.bad_count,
                             skipped=len(found.tasks) * options.samples * len(options.modes) - total)
    if progress is not None:
        progress.planned(total, summary.skipped, found.bad_lines)
    for task, sample, mode in _plan(found, options, name, done):
        episode = _episode(found, task, sample, mode, loaded, name, toolbox, options, store)
        store.append(episode)
        summary.written += 1
        summary.passed += episode.checks.passed is True
        summary.errors += episode.stop_reason == "error"
        if progress is not None:
            progress.finished(episode)
    return summary


def _plan(
    found: TaskFile, options: CollectOptions, name: str, done: set[EpisodeKey]
) -> Iterator[tuple[Task, int, Mode]]:
    """The episodes still to run, in task order, made one at a time (samples x tasks may be large)."""
    return ((task, sample, mode) for task in found.tasks for sample in range(options.samples)
            for mode in options.modes if (name, mode, task.id, sample) not in done)


def _episode(
    found: TaskFile, task: Task, sample: int, mode: Mode, model: LoadedModel, name: str, toolbox: Toolbox,
    options: CollectOptions, store: TrajectoryStore,
) -> Episode:  # fmt: skip
    tools = toolbox
    if task.tools is not None:
        tools = Toolbox([toolbox[tool] for tool in task.tools], max_pixels=toolbox.max_pixels)
    seed = options.seed + sample

    def make_agent() -> Agent:
        return Agent(model, tools, system=task.system, thinking=options.thinking, tool_choice=options.tool_choice,
                     dialect=options.dialect, constrained=mode == "constrained", max_steps=options.max_steps,
                     max_new_tokens=options.max_new_tokens, token_budget=options.token_budget,
                     sampling=SamplingParams(temperature=options.temperature, top_p=options.top_p, seed=seed))

    outcome = run_episode(make_agent, task.prompt, found.image_paths(task), options.time_budget_s)
    return _record(outcome, task, sample, seed, mode, name, tools, options, store)


def _record(
    outcome: Outcome, task: Task, sample: int, seed: int, mode: Mode, name: str, tools: Toolbox,
    options: CollectOptions, store: TrajectoryStore,
) -> Episode:  # fmt: skip
    notes = [step_notes(tools, step) for step in outcome.steps]
    failed = {result.call_id for step in outcome.steps for result in step.results if result.is_error}
    succeeded = [call.name for step, note in zip(outcome.steps, notes)
                 for call, ok in zip(step.calls, note.valid_calls) if ok and call.id not in failed]
    episode_name = f"{task.id}.s{sample}.{mode}"
    return Episode(
        task_id=task.id, sample=sample, seed=seed, model=name, mode=mode, thinking=options.thinking is not False,
        tools=tools.to_openai(), messages=outcome.messages,
        images=store.save_images(episode_name, name, outcome.conversation.images),
        steps=outcome.steps, notes=notes, stop_reason=outcome.stop_reason, error=outcome.error,
        answer=outcome.answer, checks=check_episode(task.expect, succeeded, outcome.answer),
        counters=total_counters(outcome.steps), wall_s=outcome.wall_s,
    )
