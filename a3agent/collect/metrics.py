"""The card's defects and the agent's behaviour, counted per model and mode over an output folder.

| metric | counted as |
| --- | --- |
| empty-think rate | steps whose prompt opened `<think>` and whose think block holds no text / those steps |
| valid-call rate | calls whose tool exists and whose arguments validate / every call attempt (well-formed calls, plus output meant as a call that could not be read, a drafted request included) |
| drafted-URL rate | steps whose text drafts an HTTP request (a line `GET https://...`), with or without a call beside it / steps |
| tool error rate | error results of valid calls (the tool failed, timed out, or the call repeated an earlier one) / valid calls |
| checks passed | episodes whose checks passed / episodes whose task asks for checks |
| steps, tokens per task | mean steps and generated tokens per episode |
| forced share | tokens the grammar forced / generated tokens |

A rate with nothing to count (no call attempts, say) is None, shown as n/a. Memory: counters per group,
plus one (steps, tokens) pair per episode for the plots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from a3agent.collect.trajectory import Episode

__all__ = ["RATES", "GroupMetrics", "summarize"]

RATES = ("empty_think", "valid_calls", "drafted_url", "tool_errors", "checks_passed", "forced_share")
"""The rate metrics, in table order."""


@dataclass
class GroupMetrics:
    """Counts for one (model, mode) and the rates made of them."""

    model: str
    mode: str
    episodes: int = 0
    errors: int = 0
    """Episodes an error ended (a refused image, a context overflow)."""
    steps: int = 0
    think_steps: int = 0
    empty_think_steps: int = 0
    call_attempts: int = 0
    valid_call_count: int = 0
    drafted_steps: int = 0
    tool_error_count: int = 0
    checked: int = 0
    passed: int = 0
    generated: int = 0
    forced: int = 0
    per_episode: list[tuple[int, int]] = field(default_factory=list)
    """(steps, generated tokens) of each episode."""

    def add(self, episode: Episode) -> None:
        """Count one episode of this group."""
        self.episodes += 1
        self.errors += episode.stop_reason == "error"
        for step, notes in zip(episode.steps, episode.notes):
            self.steps += 1
            self.think_steps += episode.thinking
            self.empty_think_steps += episode.thinking and not step.thinking.strip()
            malformed = sum(result.call_id is None for result in step.results)
            self.call_attempts += len(step.calls) + malformed
            valid = {call.id for call, ok in zip(step.calls, notes.valid_calls) if ok}
            self.valid_call_count += len(valid)
            self.tool_error_count += sum(r.is_error for r in step.results if r.call_id in valid)
            self.drafted_steps += notes.drafted_request
        if episode.checks.passed is not None:
            self.checked += 1
            self.passed += episode.checks.passed
        self.generated += episode.counters.generated
        self.forced += episode.counters.forced
        self.per_episode.append((len(episode.steps), episode.counters.generated))

    def rate(self, name: str) -> tuple[int, int]:
        """(count, total) of the rate `name` (one of `RATES`)."""
        return {
            "empty_think": (self.empty_think_steps, self.think_steps),
            "valid_calls": (self.valid_call_count, self.call_attempts),
            "drafted_url": (self.drafted_steps, self.steps),
            "tool_errors": (self.tool_error_count, self.valid_call_count),
            "checks_passed": (self.passed, self.checked),
            "forced_share": (self.forced, self.generated),
        }[name]

    def value(self, name: str) -> float | None:
        """The rate `name` as a fraction; None when there is nothing to count."""
        count, total = self.rate(name)
        return count / total if total else None

    @property
    def steps_per_task(self) -> float | None:
        """Mean steps per episode."""
        return self.steps / self.episodes if self.episodes else None

    @property
    def tokens_per_task(self) -> float | None:
        """Mean generated tokens per episode."""
        return self.generated / self.episodes if self.episodes else None


def summarize(episodes: Iterable[Episode]) -> list[GroupMetrics]:
    """One `GroupMetrics` per (model, mode), sorted by model, constrained before unconstrained."""
    groups: dict[tuple[str, str], GroupMetrics] = {}
    for episode in episodes:
        key = (episode.model, episode.mode)
        groups.setdefault(key, GroupMetrics(*key)).add(episode)
    return [groups[key] for key in sorted(groups)]
