"""The options of a collection, in one table, checked before any model loads.

| option | default | meaning |
| --- | --- | --- |
| `samples` | 1 | episodes per task and mode; sample k samples with seed `seed + k` |
| `modes` | ("constrained",) | "constrained", "unconstrained" or both (the defects measured side by side) |
| `thinking` | True | think blocks on (default bounds), off, or a `Thinking(min, max)` |
| `tool_choice` | "auto" | as in `Agent`: "auto", "required", "none" or a tool name, binding each episode's first step |
| `dialect` | "hermes-json" | tool-call format |
| `max_steps` | 8 | model turns per episode |
| `max_new_tokens` | 1024 | generated tokens per step |
| `token_budget` | 8192 | generated tokens per episode (the task's token budget) |
| `time_budget_s` | 300 | seconds per episode; past it the episode stops, its finished steps kept (None: no limit) |
| `temperature`, `top_p` | 0, 1 | sampling (0: greedy, where every sample is the same) |
| `seed` | 0 | the first sample's seed |
"""

from __future__ import annotations

from dataclasses import dataclass

from a3agent.agent.options import Dialect
from a3agent.collect.trajectory import Mode
from a3agent.errors import CollectError
from a3agent.grammars import Thinking

__all__ = ["CollectOptions"]


@dataclass(frozen=True)
class CollectOptions:
    """See the module's table."""

    samples: int = 1
    modes: tuple[Mode, ...] = ("constrained",)
    thinking: bool | Thinking = True
    tool_choice: str = "auto"
    dialect: Dialect = "hermes-json"
    max_steps: int = 8
    max_new_tokens: int = 1024
    token_budget: int = 8192
    time_budget_s: float | None = 300.0
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def check(self, tool_names: list[str]) -> None:
        """Raise `CollectError` for an option no collection with these tools can use."""
        if self.tool_choice not in ("auto", "required", "none") and self.tool_choice not in tool_names:
            raise CollectError(f"tool_choice {self.tool_choice!r} is neither auto, required, none nor a tool name; "
                               f"the tools are: {', '.join(tool_names) or 'none'}")
        if self.samples < 1:
            raise CollectError(f"samples must be at least 1, got {self.samples}")
        if not self.modes or len(set(self.modes)) != len(self.modes):
            raise CollectError(f"modes must name constrained and/or unconstrained once each, got {self.modes}")
        if self.time_budget_s is not None and self.time_budget_s < 0:
            raise CollectError(f"time_budget_s must not be negative, got {self.time_budget_s}")
