"""What a run hands back: every step's thinking, text, calls, results and decode counters.

`RunResult` is plain pydantic, so it serialises to JSON (`model_dump_json`) and publishes its JSON
schema (`RunResult.model_json_schema()`); `a3agent run --json` prints it. Images appear by id only.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, ConfigDict

from a3agent.agent.messages import ToolCallPart, ToolResultPart
from a3agent.model.decode import DecodeCounters, FinishReason

__all__ = ["StopReason", "Step", "RunResult", "total_counters"]

StopReason = Literal["answer", "max_steps", "token_budget"]
"""Why a run ended: the model answered; the run reached its step limit, whose turn may not call
tools; the token budget ran out."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class Step(_Model):
    """One model turn and the tool calls it made."""

    index: int
    """1 for the run's first turn."""
    thinking: str
    """The turn's think-block text."""
    text: str
    """The turn's answer text (outside think and call blocks)."""
    calls: list[ToolCallPart]
    """Well-formed calls, in order; each has a result in `results`."""
    results: list[ToolResultPart]
    """What went back to the model: one per call, plus one per malformed call."""
    finish_reason: FinishReason
    """How the decode loop ended the turn: "length" whenever a token budget ended the text."""
    counters: DecodeCounters
    """Prompt, reused, forwarded, generated and forced tokens, and timings, of this turn's decode."""
    wall_s: float
    """Seconds for the whole step: prompt, decode, parsing and tools."""


class RunResult(_Model):
    """The outcome of `Agent.run`."""

    text: str
    """The final answer."""
    thinking: str
    """The final turn's thinking."""
    steps: list[Step]
    """Every turn of the run, in order."""
    stop_reason: StopReason
    """Why the run ended."""
    finish_reason: FinishReason
    """How the final turn's text ended: "stop" when the model (or the grammar) ended it, "length" when
    a token budget did, so its text may be cut short."""
    counters: DecodeCounters
    """The decode counters summed over the steps."""

    @property
    def calls(self) -> list[ToolCallPart]:
        """Every well-formed call of the run, in order."""
        return [call for step in self.steps for call in step.calls]

    @property
    def results(self) -> list[ToolResultPart]:
        """Every result sent back to the model, in order."""
        return [result for step in self.steps for result in step.results]


def total_counters(steps: list[Step]) -> DecodeCounters:
    """Field-by-field sum of the steps' counters."""
    total = DecodeCounters()
    for step in steps:
        for field in dataclasses.fields(DecodeCounters):
            setattr(total, field.name, getattr(total, field.name) + getattr(step.counters, field.name))
    return total
