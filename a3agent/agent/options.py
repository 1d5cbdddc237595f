"""The agent's options, in one table, checked once when the agent is built.

| option | default | meaning |
| --- | --- | --- |
| `system` | None | system prompt text, stored as a conversation's first message |
| `thinking` | True | True: think with the default `Thinking()` bounds; a `Thinking(min, max)`: those bounds; False: no think block |
| `tool_choice` | "auto" | "auto", "required", "none" or a tool name; "required" and a name bind the run's first step only, so a run can still end |
| `dialect` | "hermes-json" | tool-call format: "hermes-json" or "qwen3-xml" |
| `constrained` | True | decode under the turn grammar (valid calls, a filled think block); False trusts the model and parses what comes |
| `max_steps` | 8 | model turns per run; the last one may not call tools, so the run ends with an answer |
| `parallel_tool_calls` | True | several calls per turn, run concurrently |
| `max_new_tokens` | 1024 | generated tokens per step, cut to the room the model's context leaves; the think block gets at most three quarters of a step's tokens, so an answer always fits |
| `token_budget` | 8192 | generated tokens per run; the run stops once they are spent |
| `max_result_tokens` | 4096 | tokens of each tool result's text the model sees; the rest is cut, with a note saying so |
| `sampling` | greedy | `SamplingParams`: temperature, top-k, top-p, seed |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from a3agent.errors import AgentError, UnknownDialect
from a3agent.grammars import Thinking
from a3agent.grammars.dialects.turn import DIALECTS
from a3agent.model.sampling import SamplingParams

__all__ = ["AgentOptions", "Dialect", "ToolChoice", "thinking_bounds"]

Dialect = Literal["hermes-json", "qwen3-xml"]
"""A tool-call format the turn grammar and the parser know."""

ToolChoice = Literal["auto", "required", "none"] | str
""""auto", "required", "none", or the name of one tool."""

_CHOICES = ("auto", "required", "none")


@dataclass(frozen=True)
class AgentOptions:
    """See the module's table."""

    system: str | None = None
    thinking: Thinking | None = Thinking()
    tool_choice: ToolChoice = "auto"
    dialect: Dialect = "hermes-json"
    constrained: bool = True
    max_steps: int = 8
    parallel_tool_calls: bool = True
    max_new_tokens: int = 1024
    token_budget: int = 8192
    max_result_tokens: int = 4096
    sampling: SamplingParams = SamplingParams()

    def check(self, tool_names: list[str]) -> None:
        """Raise for an option that cannot work with these tools."""
        if self.dialect not in DIALECTS:
            raise UnknownDialect(f"unknown dialect {self.dialect!r}: choose one of {', '.join(DIALECTS)}")
        if self.tool_choice not in _CHOICES and self.tool_choice not in tool_names:
            raise AgentError(f"tool_choice {self.tool_choice!r} is neither one of {', '.join(_CHOICES)} "
                             f"nor a tool name; the tools are: {', '.join(tool_names) or 'none'}")
        if self.tool_choice == "required" and not tool_names:
            raise AgentError('tool_choice "required" needs at least one tool')
        for name in ("max_steps", "max_new_tokens", "token_budget", "max_result_tokens"):
            if getattr(self, name) < 1:
                raise AgentError(f"{name} must be at least 1, got {getattr(self, name)}")

    def step_choice(self, step: int) -> str:
        """The tool choice of step `step` (1-based) in a run of at most `max_steps`."""
        if step == self.max_steps or self.tool_choice == "none":
            return "none"
        return self.tool_choice if step == 1 else "auto"


def thinking_bounds(thinking: bool | Thinking) -> Thinking | None:
    """True -> default bounds, False -> None (no think block), a `Thinking` as given."""
    if isinstance(thinking, Thinking):
        return thinking
    return Thinking() if thinking else None
