"""One episode as `collect` records it: a line of `trajectories.jsonl`.

The agent's own types carry the substance (`Message`, `Step`, `DecodeCounters`); an episode adds what a
trainer or a report needs beside them: which task, sample, seed, model and mode, the tools offered,
where its images were saved, why it stopped, and per step whether each call validated and whether the
step's text drafted an HTTP request (the card's defect). Images appear by file, relative to
the output folder.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from a3agent.agent.messages import Message
from a3agent.agent.result import Step
from a3agent.collect.checks import Checks
from a3agent.model.decode import DecodeCounters

__all__ = ["Episode", "EpisodeKey", "EpisodeStop", "Mode", "StepNotes"]

Mode = Literal["constrained", "unconstrained"]
"""Decoding under the turn grammar, or free."""

EpisodeStop = Literal["answer", "max_steps", "token_budget", "time_budget", "error"]
"""The agent's stop reasons, plus the task's time budget and an error that ended the episode (a refused
image, a context overflow)."""

EpisodeKey = tuple[str, str, str, int]
"""(model, mode, task id, sample): what a resumed collection skips when it is already written."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class StepNotes(_Model):
    """What `collect` judged of one step, beside the agent's `Step`."""

    valid_calls: list[bool]
    """Per well-formed call of the step: its tool exists and its arguments validate."""
    drafted_request: bool
    """The step's text drafts an HTTP request (a line `GET https://...`), whether or not it also called."""


class Episode(_Model):
    """One run of one task: a line of `trajectories.jsonl`."""

    format: Literal["a3agent-trajectory"] = "a3agent-trajectory"
    """Tag of the file format."""
    version: Literal[1] = 1
    """Format version."""
    task_id: str
    """The task's id."""
    sample: int
    """0 for the first sample of a task."""
    seed: int | None
    """The sampling seed of this sample."""
    model: str
    """The model, as `--model` named it."""
    mode: Mode
    """Constrained or unconstrained decoding."""
    thinking: bool
    """Whether the generation prompts opened `<think>`."""
    tools: list[dict[str, Any]]
    """The tool definitions offered (OpenAI function form)."""
    messages: list[Message]
    """The conversation: system prompt, user turn, assistant turns (with their raw text), tool results."""
    images: dict[str, str]
    """Image id -> file, relative to the output folder."""
    steps: list[Step]
    """The agent's steps, whole (thinking, text, calls, results, finish reason, counters)."""
    notes: list[StepNotes]
    """One per step."""
    stop_reason: EpisodeStop
    """Why the episode ended."""
    error: str | None = None
    """The error that ended it, as `Type: message`."""
    answer: str
    """The final answer ("" when the episode ended without one)."""
    checks: Checks
    """The task's checks."""
    counters: DecodeCounters
    """Decode counters summed over the steps."""
    wall_s: float
    """Seconds for the whole episode."""

    @property
    def key(self) -> EpisodeKey:
        """What makes this episode unique in an output folder."""
        return (self.model, self.mode, self.task_id, self.sample)

