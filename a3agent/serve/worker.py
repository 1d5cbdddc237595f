"""The one model of this process, its decode loop and the one thread that runs them.

Everything that touches the model or the engine's caches (building a job, every decode step) runs
on a single worker thread, so the event loop stays free to answer other requests (429s, model
lists) and to notice a client leaving. A generation is cut at the next step when its client
goes: a cancelled step is let finish (a half-run forward pass would poison the cache) and then no
other starts. The decode loop keeps its KV cache between requests, so a client resending the
history pays only for what follows the longest prefix it shares with the previous request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio

from a3agent.model.decode import DecodeLoop, DecodeResult
from a3agent.model.loading import LoadedModel
from a3agent.serve.job import Job
from a3agent.serve.turn_events import CallEnd, TurnEvent, TurnReader

__all__ = ["ClientGone", "ModelWorker", "TurnEnd"]

log = logging.getLogger("a3agent.serve")
T = TypeVar("T")


class ClientGone(Exception):
    """The client of a whole (non-streamed) response disconnected; its generation was stopped."""


@dataclass(frozen=True)
class TurnEnd:
    """The last event of a turn: why it ended and what it cost."""

    finish_reason: Literal["stop", "length", "tool_calls"]
    usage: dict[str, Any]


class ModelWorker:
    """Runs jobs on the model, one step at a time on its own thread."""

    def __init__(self, loaded: LoadedModel, dialect: str) -> None:
        self.loaded, self.dialect = loaded, dialect
        self.decoder = DecodeLoop.for_model(loaded)
        self.cancelled = 0
        """Model calls whose request was cancelled (a streaming client went away) while they ran."""
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="a3agent-model")
        self._think_close = loaded.special_ids.get("</think>")

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the model's thread; if cancelled, it still runs to its end before this returns."""
        future = asyncio.get_running_loop().run_in_executor(self._thread, function, *args)
        try:
            return await asyncio.shield(future)
        except BaseException as exc:
            self.cancelled += isinstance(exc, asyncio.CancelledError)
            with anyio.CancelScope(shield=True):
                await asyncio.wait([future])
            raise

    async def run(self, job: Job, disconnected: Callable[[], Awaitable[bool]] | None = None
                  ) -> AsyncIterator[TurnEvent | TurnEnd]:
        """The events of `job`'s turn, then a `TurnEnd`. `disconnected` is asked after each step."""
        stream = self.decoder.stream(job.prompt, max_new_tokens=job.max_new_tokens, sampling=job.sampling,
                                     stop=job.stop, constraint=job.grammar.matcher())
        reader = TurnReader(job.thinking, self.dialect, job.tools)
        calls = 0
        try:
            while (delta := await self.call(next, stream, None)) is not None:
                for event in reader.feed(delta):
                    calls += isinstance(event, CallEnd) and event.ok
                    yield event
                if disconnected is not None and await disconnected():
                    raise ClientGone()
        except (asyncio.CancelledError, ClientGone):
            log.info("the client went away: its generation stopped at the next step")
            raise
        assert stream.result is not None, "an exhausted decode stream has its result"
        yield TurnEnd(_finish_reason(stream.result, calls), self._usage(stream.result, job.thinking))

    def close(self) -> None:
        """Stop the model's thread once its current step is done."""
        self._thread.shutdown(wait=False, cancel_futures=True)

    def _usage(self, result: DecodeResult, thinking: bool) -> dict[str, Any]:
        counters = result.counters
        think = result.token_ids.index(self._think_close) if self._think_close in result.token_ids else None
        reasoning = (think if think is not None else len(result.content_ids)) if thinking else 0
        return {
            "prompt_tokens": counters.prompt,
            "completion_tokens": counters.generated,
            "total_tokens": counters.prompt + counters.generated,
            "prompt_tokens_details": {"cached_tokens": counters.reused},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        }


def _finish_reason(result: DecodeResult, calls: int) -> Literal["stop", "length", "tool_calls"]:
    if result.finish_reason == "length":
        return "length"
    return "tool_calls" if calls else "stop"
