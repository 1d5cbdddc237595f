"""The agent settings that `chat` and `run` take from the command line and slash commands change.

One mutable record, turned into an `Agent` by `build_agent`: the REPL changes a field (`/think off`,
`/constrain on`) and builds a new agent over the same conversation, since an agent's options are
fixed when it is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from a3agent.errors import CommandLineError
from a3agent.grammars import Thinking
from a3agent.model.sampling import SamplingParams

if TYPE_CHECKING:
    from a3agent.agent.agent import Agent
    from a3agent.model.loading import LoadedModel
    from a3agent.tools import Approve, Toolbox

__all__ = ["AgentSettings", "build_agent"]


@dataclass
class AgentSettings:
    """See `a3agent chat --help` for each field's meaning."""

    system: str | None = None
    thinking: bool = True
    min_think: int | None = None
    max_think: int | None = None
    constrained: bool = True
    dialect: str = "hermes-json"
    tool_choice: str = "auto"
    temperature: float = 0.0
    seed: int | None = None

    def thinking_bounds(self) -> Thinking | bool:
        """False, or the think-block bounds (the defaults of `Thinking` where none was given)."""
        if not self.thinking:
            return False
        given = {"min_tokens": self.min_think, "max_tokens": self.max_think}
        try:
            return Thinking(**{name: value for name, value in given.items() if value is not None})
        except ValueError as exc:
            raise CommandLineError(f"bad think bounds: {exc}") from None

    def sampling(self) -> SamplingParams:
        try:
            return SamplingParams(temperature=self.temperature, seed=self.seed)
        except ValueError:
            raise CommandLineError(f"bad --temperature {self.temperature}: give 0 (greedy) or more") from None


def build_agent(model: LoadedModel, toolbox: Toolbox, settings: AgentSettings, approve: Approve | None) -> Agent:
    """An agent with `settings`; raises the agent's own errors for options that cannot work."""
    from a3agent.agent.agent import Agent

    return Agent(model, toolbox, system=settings.system, thinking=settings.thinking_bounds(),
                 tool_choice=settings.tool_choice, dialect=settings.dialect,
                 constrained=settings.constrained, approve=approve, sampling=settings.sampling())
