"""Training rows out of an output folder: one row per assistant step, the shape artemis-vlm trains on.

A row is `{"images": [absolute paths], "messages": [chat turns]}` (`chat.py`): the step's prefix as
context, the step itself as the last turn, the target. Filters, each counted in `ExportSummary`:
- episodes that did not end with an answer, or (with `passed_only`) whose checks did not pass, give no rows;
- (with `valid_only`) a step is no target when it made a call that failed to parse or validate, drafted
  an HTTP request in its text (even beside a real call), or left a think block it opened unclosed;
- a row longer than `max_tokens` (measured as the collator will make it, `length.py`) is dropped.

Memory holds one episode at a time; the cost is one template render and tokenisation per row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from a3agent.agent.messages import AssistantMessage
from a3agent.collect.chat import episode_chat
from a3agent.collect.length import RowMeasure
from a3agent.collect.store import TrajectoryStore
from a3agent.collect.trajectory import Episode
from a3agent.model.loading import LoadedModel

__all__ = ["MAX_LISTED", "ExportSummary", "LongRow", "artemis_rows", "export_artemis", "step_is_clean"]

MAX_LISTED = 100
"""Over-length rows listed by name in the summary; the rest are counted."""


@dataclass(frozen=True)
class LongRow:
    """A row dropped for its length."""

    episode: str
    """`MODEL/TASK.sSAMPLE.MODE`."""
    step: int
    tokens: int


@dataclass
class ExportSummary:
    """What an export kept and dropped."""

    episodes: int = 0
    """Episodes read."""
    rows: int = 0
    """Rows written."""
    unfinished: int = 0
    """Episodes without an answer (a budget or an error ended them): no rows."""
    not_passed: int = 0
    """Finished episodes whose checks failed or were not asked for, with `passed_only`: no rows."""
    invalid_steps: int = 0
    """Steps dropped as targets by `valid_only`."""
    too_long: int = 0
    """Rows over `max_tokens`, dropped."""
    long_rows: list[LongRow] = field(default_factory=list)
    """The first `MAX_LISTED` of them."""


def step_is_clean(episode: Episode, index: int) -> bool:
    """Step `index` (0-based) called only validly, drafted no request, and closed a think block it opened."""
    step, notes = episode.steps[index], episode.notes[index]
    malformed = any(result.call_id is None for result in step.results)
    message = [m for m in episode.messages if isinstance(m, AssistantMessage)][index]
    unclosed = message.think_opened and "</think>" not in (message.raw or "")
    return all(notes.valid_calls) and not malformed and not notes.drafted_request and not unclosed


def artemis_rows(episode: Episode, folder: Path, model: LoadedModel) -> list[tuple[int, dict[str, Any]]]:
    """Every step of `episode` as (step index, row), unfiltered."""
    chat = episode_chat(episode, folder, model.template)
    return [(index, {"images": chat.images[:images], "messages": chat.turns[: at + 1]})
            for index, (at, images) in enumerate(chat.assistant_at)]


def export_artemis(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    model: LoadedModel,
    *,
    max_tokens: int = 4096,
    passed_only: bool = True,
    valid_only: bool = True,
) -> ExportSummary:
    """Write the rows of `folder`'s episodes to `out` (JSONL); `model` measures them (template, tokenizer, images).

    Example: `export_artemis("runs/a", "rows.jsonl", load_model("tiny"))`
    """
    summary = ExportSummary()
    measure = RowMeasure(model)
    store = TrajectoryStore(folder)
    with Path(out).open("w", encoding="utf-8") as file:
        for row in _kept_rows(store, model, measure, summary, max_tokens, passed_only, valid_only):
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
            summary.rows += 1
    return summary


def _kept_rows(
    store: TrajectoryStore, model: LoadedModel, measure: RowMeasure, summary: ExportSummary, max_tokens: int,
    passed_only: bool, valid_only: bool,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    for episode in store.episodes():
        summary.episodes += 1
        if episode.stop_reason != "answer":
            summary.unfinished += 1
            continue
        if passed_only and episode.checks.passed is not True:
            summary.not_passed += 1
            continue
        for index, row in artemis_rows(episode, store.folder, model):
            if valid_only and not step_is_clean(episode, index):
                summary.invalid_steps += 1
                continue
            tokens = measure.tokens(row)
            if tokens > max_tokens:
                name = f"{episode.model}/{episode.task_id}.s{episode.sample}.{episode.mode}"
                _count_long(summary, name, index + 1, tokens)
                continue
            yield row


def _count_long(summary: ExportSummary, episode: str, step: int, tokens: int) -> None:
    summary.too_long += 1
    if len(summary.long_rows) < MAX_LISTED:
        summary.long_rows.append(LongRow(episode, step, tokens))
