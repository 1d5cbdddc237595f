"""The bounded, first-come-first-served queue in front of the one model.

One generation runs at a time (the decode loop holds one sequence); at most `max_waiting` requests
wait behind it, served in arrival order (asyncio's lock wakes its waiters in order). A request past
that is refused at once with `QueueFull` (429) and a Retry-After of the expected wait: the mean of
recent generations' durations times the requests ahead, between 1 and `MAX_RETRY_AFTER` seconds.
"""

from __future__ import annotations

import asyncio
import math
import time
from types import TracebackType
from typing import Self

from a3agent.serve.errors import QueueFull

__all__ = ["GenerationQueue", "Place"]

MAX_RETRY_AFTER = 600
"""Seconds; the longest wait a 429 asks for."""
_SMOOTHING = 0.2
"""Weight of the newest duration in the running mean."""


class GenerationQueue:
    """Admits requests (`reserve`) and hands the model to one `Place` at a time, in order."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self.admitted = 0
        """Places reserved and not yet released: the running request and those waiting."""
        self._lock = asyncio.Lock()
        self._mean_seconds = 1.0

    def reserve(self) -> Place:
        """A place in line; raises `QueueFull` when `max_waiting` requests already wait."""
        if self.admitted > self.max_waiting:
            wait = min(MAX_RETRY_AFTER, max(1, math.ceil(self._mean_seconds * self.admitted)))
            raise QueueFull(f"{self.admitted - 1} requests already wait for the model (the limit is "
                            f"{self.max_waiting}); retry after {wait} s", code="queue_full",
                            headers={"Retry-After": str(wait)})
        self.admitted += 1
        return Place(self)

    def _record(self, seconds: float) -> None:
        self._mean_seconds += _SMOOTHING * (seconds - self._mean_seconds)


class Place:
    """One request's place: `acquire` (or `async with`) waits for the model and holds it until `release`."""

    def __init__(self, queue: GenerationQueue) -> None:
        self._queue = queue
        self._held_since: float | None = None
        self._released = False

    async def __aenter__(self) -> Self:
        await self.acquire()
        return self

    async def acquire(self) -> None:
        """Wait for the model; a wait that is cancelled gives the place up."""
        try:
            await self._queue._lock.acquire()
        except BaseException:
            self.release()
            raise
        self._held_since = time.monotonic()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        """Give the model (or the place in line) back; later calls do nothing."""
        if self._released:
            return
        self._released = True
        self._queue.admitted -= 1
        if self._held_since is not None:
            self._queue._record(time.monotonic() - self._held_since)
            self._queue._lock.release()
