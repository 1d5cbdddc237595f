"""Guards that keep a run from going on forever: repeated calls and the per-run token budget.

A weak model that did not understand a result tends to ask again with the same arguments; running
the tool again would give the same answer, so the repeat is answered with a pointer to the first
call instead. The step limit itself is enforced by the run loop (its last step may not call tools).
"""

from __future__ import annotations

import json

from a3agent.agent.messages import ToolCallPart

__all__ = ["RepeatGuard", "TokenBudget", "repeat_message"]


class RepeatGuard:
    """Remembers the calls of one run by tool name and arguments."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def first_of(self, call: ToolCallPart) -> str | None:
        """The id of an earlier call with the same name and arguments, or None (and remember this one)."""
        key = json.dumps([call.name, call.arguments], sort_keys=True, default=str)
        earlier = self._seen.get(key)
        if earlier is None:
            self._seen[key] = call.id
        return earlier


def repeat_message(call: ToolCallPart, earlier: str) -> str:
    """The error text a repeated call gets back."""
    return (f"This repeats call {earlier} ({call.name} with the same arguments), so it did not run "
            "again; its result is above. Use it, change the arguments, or answer.")


class TokenBudget:
    """Generated tokens a run may spend over all its steps."""

    def __init__(self, total: int) -> None:
        self.remaining = total

    def spend(self, tokens: int) -> None:
        self.remaining -= tokens

    @property
    def spent(self) -> bool:
        return self.remaining <= 0
