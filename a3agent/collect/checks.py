"""An episode's checks against its task's `expect`: the calls it made and its final answer.

`calls` passes when the expected tool names occur, in order, among the calls that validated and ran
without an error result (other calls may come between): a call whose tool failed did not do its job. `answer` passes when `answer_regex` is found in the final
answer; the search runs under `REGEX_TIMEOUT_S` (the `regex` package's timeout), so a pattern that
backtracks without end fails its check instead of hanging the collection.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex
from pydantic import BaseModel, ConfigDict

from a3agent.collect.tasks import Expect

__all__ = ["REGEX_TIMEOUT_S", "Checks", "check_episode"]

REGEX_TIMEOUT_S = 1.0


class Checks(BaseModel):
    """The outcome of each check; None where the task asks nothing."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    calls: bool | None = None
    """The expected calls were made, in order, validly and without an error result."""
    answer: bool | None = None
    """The final answer matches `answer_regex`."""
    note: str | None = None
    """Why a check could not be run (a regex timeout)."""

    @property
    def passed(self) -> bool | None:
        """True when every check asked for passed; None when the task asks nothing."""
        asked = [value for value in (self.calls, self.answer) if value is not None]
        return all(asked) if asked else None


def check_episode(expect: Expect | None, succeeded: Sequence[str], answer: str) -> Checks:
    """Check an episode: `succeeded` names its calls that validated and ran without error, in order;
    `answer` is its final text."""
    if expect is None:
        return Checks()
    calls = _in_order(expect.calls, succeeded) if expect.calls else None
    if expect.answer_regex is None:
        return Checks(calls=calls)
    try:
        found = regex.search(expect.answer_regex, answer, timeout=REGEX_TIMEOUT_S) is not None
    except TimeoutError:
        return Checks(calls=calls, answer=False, note=f"answer_regex ran past {REGEX_TIMEOUT_S:g} s")
    return Checks(calls=calls, answer=found)


def _in_order(expected: Sequence[str], made: Sequence[str]) -> bool:
    """`expected` is a subsequence of `made`. Example: _in_order(["grid", "crop"], ["grid", "zoom", "crop"]) -> True"""
    remaining = iter(made)
    return all(any(name == call for call in remaining) for name in expected)
