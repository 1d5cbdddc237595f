"""One episode: a task run once through an `Agent`, recorded whole whatever happens.

The agent does the work; this module only watches its events, keeps the conversation as of the last
finished step, and judges the steps (call validity, requests drafted in text). The time budget cancels the run
at its next await (a decode in flight finishes its token first); a3agent's own errors (a refused image,
a context overflow, a tool choice the task cannot meet, a tool schema the grammar refuses) end the
episode with the error recorded. Anything else is a bug and propagates, as does Ctrl-C: nothing of
the episode is recorded then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from a3agent.agent import Agent, Conversation, Step
from a3agent.agent.calls import validates
from a3agent.agent.events import FinalEvent, StepEnd
from a3agent.agent.messages import Message
from a3agent.agent.parsing import drafts_request
from a3agent.collect.trajectory import EpisodeStop, StepNotes
from a3agent.errors import A3AgentError
from a3agent.tools import Toolbox

__all__ = ["Outcome", "run_episode", "step_notes"]


@dataclass
class Outcome:
    """What an episode left: its conversation as of its last finished step, its steps, and why it stopped."""

    conversation: Conversation = field(default_factory=Conversation)
    messages: list[Message] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    stop_reason: EpisodeStop = "error"
    error: str | None = None
    answer: str = ""
    wall_s: float = 0.0


def run_episode(
    make_agent: Callable[[], Agent], prompt: str, images: Sequence[Path], time_budget_s: float | None
) -> Outcome:
    """Build the agent and run `prompt` with `images` through it, under the time budget."""
    outcome = Outcome()
    started = time.perf_counter()
    try:
        asyncio.run(_timed(make_agent, prompt, images, time_budget_s, outcome))
    except TimeoutError:
        outcome.stop_reason = "time_budget"
    except A3AgentError as exc:
        outcome.stop_reason, outcome.error = "error", f"{type(exc).__name__}: {exc}"
    outcome.wall_s = time.perf_counter() - started
    return outcome


async def _timed(
    make_agent: Callable[[], Agent], prompt: str, images: Sequence[Path], budget: float | None, outcome: Outcome
) -> None:
    async with asyncio.timeout(budget):
        agent = make_agent()
        async for event in agent.astream(prompt, images, outcome.conversation):
            if not outcome.messages or isinstance(event, StepEnd | FinalEvent):
                outcome.messages = list(outcome.conversation.messages)  # an unfinished run takes its turns back
            if isinstance(event, StepEnd):
                outcome.steps.append(event.step)
            elif isinstance(event, FinalEvent):
                outcome.stop_reason, outcome.answer = event.result.stop_reason, event.result.text


def step_notes(toolbox: Toolbox, step: Step) -> StepNotes:
    """Whether each call of `step` validates, and whether its text drafts a request."""
    return StepNotes(valid_calls=[validates(toolbox, call) for call in step.calls],
                     drafted_request=drafts_request(step.text))
