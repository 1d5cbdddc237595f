"""The agent settings that `chat` and `run` take from the command line and slash commands change.

One mutable record, turned into an `Agent` by `build_agent`: the REPL changes a field (`/think off`,
`/constrain on`) and builds a new agent over the same conversation, since an agent's options are
fixed when it is made. `check_options` and `check_tools` find every mistake a person can make in
them before a model loads, so a typo costs no load; this module imports neither torch nor the
grammar engine until asked to, so both checks are fast.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from a3agent.agent.agent import Agent
    from a3agent.agent.options import Dialect
    from a3agent.grammars import Thinking
    from a3agent.model.loading import LoadedModel
    from a3agent.model.sampling import SamplingParams
    from a3agent.tools import Approve, Toolbox

__all__ = ["AgentSettings", "TOOL_CHOICES", "THINK_DEFAULTS", "build_agent"]

TOOL_CHOICES = ("auto", "required", "none")
"""The `--tool-choice` values that name no tool."""
THINK_DEFAULTS = (8, 1024)
"""`Thinking()`'s min_tokens and max_tokens, known here without importing the grammar engine (a test keeps
them in step)."""


@dataclass
class AgentSettings:
    """See `a3agent chat --help` for each field's meaning; None takes the agent's default."""

    system: str | None = None
    thinking: bool = True
    min_think: int | None = None
    max_think: int | None = None
    constrained: bool = True
    dialect: Dialect = "hermes-json"
    tool_choice: str = "auto"
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    max_new_tokens: int | None = None
    max_steps: int | None = None

    def check_options(self) -> None:
        """Raise `CommandLineError` for bounds that contradict each other (fast: imports nothing heavy)."""
        if self.min_think is not None and self.max_think is not None and self.min_think > self.max_think:
            raise CommandLineError(f"--min-think {self.min_think} is more than --max-think {self.max_think}; "
                                   "the think block needs min <= max")

    def check_tools(self, tool_names: Collection[str]) -> None:
        """Raise `CommandLineError` for a tool choice these tools cannot satisfy, or bounds that contradict
        the default of the one not given."""
        if self.tool_choice not in TOOL_CHOICES and self.tool_choice not in tool_names:
            raise CommandLineError(f"unknown --tool-choice {self.tool_choice!r}: give {', '.join(TOOL_CHOICES)} "
                                   f"or a tool name ({', '.join(tool_names) or 'no tools are loaded'})")
        if self.tool_choice == "required" and not tool_names:
            raise CommandLineError("--tool-choice required needs at least one tool, and there are none")
        self._bounds(THINK_DEFAULTS)

    def think_bounds(self) -> Thinking:
        """The think-block bounds, the defaults of `Thinking` where none was given; checked also while
        thinking is off, so a bound set then cannot fail later."""
        from a3agent.grammars import Thinking

        low, high = self._bounds((Thinking.min_tokens, Thinking.max_tokens))
        return Thinking(min_tokens=low, max_tokens=high)

    def _bounds(self, defaults: tuple[int, int]) -> tuple[int, int]:
        low = defaults[0] if self.min_think is None else self.min_think
        high = defaults[1] if self.max_think is None else self.max_think
        if low > high:
            raise CommandLineError(f"bad think bounds: min {low} is more than max {high}; the think block "
                                   "needs min <= max")
        return low, high

    def sampling(self) -> SamplingParams:
        from a3agent.model.sampling import SamplingParams

        return SamplingParams(temperature=self.temperature, top_p=self.top_p, seed=self.seed)


def build_agent(model: LoadedModel, toolbox: Toolbox, settings: AgentSettings, approve: Approve | None) -> Agent:
    """An agent with `settings`; raises the agent's own errors for options that cannot work."""
    from a3agent.agent.agent import Agent

    budgets = {name: getattr(settings, name) for name in ("max_new_tokens", "max_steps")
               if getattr(settings, name) is not None}
    bounds = settings.think_bounds()  # checked also while thinking is off, so turning it on cannot fail
    return Agent(model, toolbox, system=settings.system, thinking=bounds if settings.thinking else False,
                 tool_choice=settings.tool_choice, dialect=settings.dialect, constrained=settings.constrained,
                 approve=approve, sampling=settings.sampling(), **budgets)
