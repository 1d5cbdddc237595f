"""What `Agent.stream` yields while a run goes on, one `kind`-tagged type per event.

Order within a step: thinking and text deltas as they are generated, then for each call its
`ToolCallEvent` (only once complete and validated against the tool's schema), then the results as
`ToolResultEvent`s in call order, then `StepEnd`. The run ends with exactly one `FinalEvent`.
Text of a call block is never streamed: calls arrive whole.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from a3agent.agent.messages import ToolCallPart, ToolResultPart
from a3agent.agent.result import RunResult, Step

__all__ = [
    "ThinkingDelta",
    "TextDelta",
    "ToolCallEvent",
    "ToolResultEvent",
    "StepEnd",
    "FinalEvent",
    "Event",
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)


class ThinkingDelta(_Event):
    """New text of the think block."""

    kind: Literal["thinking_delta"] = "thinking_delta"
    """Tag of the discriminated union."""
    step: int
    """Index of the step (1-based)."""
    text: str
    """The new text; the deltas of a step concatenate to its `thinking`."""


class TextDelta(_Event):
    """New answer text, outside think and call blocks."""

    kind: Literal["text_delta"] = "text_delta"
    """Tag of the discriminated union."""
    step: int
    """Index of the step (1-based)."""
    text: str
    """The new text; the deltas of a step concatenate to its `text`."""


class ToolCallEvent(_Event):
    """A call about to run: its tool exists and its arguments validate."""

    kind: Literal["tool_call"] = "tool_call"
    """Tag of the discriminated union."""
    step: int
    """Index of the step (1-based)."""
    call: ToolCallPart
    """The call."""


class ToolResultEvent(_Event):
    """What went back to the model for one call (or one malformed call)."""

    kind: Literal["tool_result"] = "tool_result"
    """Tag of the discriminated union."""
    step: int
    """Index of the step (1-based)."""
    result: ToolResultPart
    """The result; `is_error` for failures, refusals and malformed calls."""


class StepEnd(_Event):
    """A step is complete, tools included."""

    kind: Literal["step_end"] = "step_end"
    """Tag of the discriminated union."""
    step: Step
    """The whole step, with its decode counters."""


class FinalEvent(_Event):
    """The run is over."""

    kind: Literal["final"] = "final"
    """Tag of the discriminated union."""
    result: RunResult
    """What `Agent.run` returns."""


Event = Annotated[
    ThinkingDelta | TextDelta | ToolCallEvent | ToolResultEvent | StepEnd | FinalEvent,
    Field(discriminator="kind"),
]
"""Any stream event."""
