"""Run a tool function, sync or async, in a daemon thread of its own, under a timeout.

A thread cannot be killed, and a deadline can only be kept by a caller that is not blocked by the
tool. So every call runs in its own daemon thread, and an async function gets a fresh event loop
there: an async tool that blocks (`time.sleep` in an `async def`) or swallows its cancellation would
otherwise stall the agent's loop, or hold `asyncio.wait_for` forever while it awaits the cancel. At
the deadline (or when the caller is cancelled, e.g. by Ctrl-C) the caller stops waiting at once: an
async call is sent a cancel it is not waited for, a sync call cannot be told anything, and either
goes on in the background with its result dropped. Consequence for tool authors: an async tool must
not await objects bound to the caller's event loop.

A tool that never returns keeps its thread (and an async one its loop) until the process exits; as
daemon threads they never block the exit. At most `MAX_ABANDONED` abandoned calls may still be
running: past that, every new call fails with `ToolFailed` until one of them ends, so a tool that
hangs each time cannot pile up threads without bound.

A tool that raises `SystemExit` (`sys.exit()`), `KeyboardInterrupt` (which cannot be a real Ctrl-C
in a worker thread: signals reach the main thread only), `CancelledError` or any other `BaseException`
fails with `ToolFailed` instead of ending the agent, passing for a result, or leaving the call
unsettled (which, with no timeout, would hold the caller forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import threading
from collections.abc import Callable
from typing import Any

from a3agent.errors import ToolFailed

__all__ = ["MAX_ABANDONED", "run_with_timeout", "exception_text"]

MAX_ABANDONED = 16
"""Abandoned tool calls (timed out or cancelled) allowed to run on in the background at once."""

_abandoned_lock = threading.Lock()
_abandoned_running = 0


def _called(call: Callable[[], Any]) -> Any:
    return call()


async def run_with_timeout(
    function: Callable[..., Any],
    kwargs: dict[str, Any],
    timeout: float | None,
    finish: Callable[[Callable[[], Any]], Any] = _called,
) -> Any:
    """`function(**kwargs)`, awaited if async; raises TimeoutError after `timeout` seconds (None: no limit).

    `finish` makes the outcome in the tool's thread, under the same timeout: it is handed the call
    (`call()` runs it) and may convert what it returns or raises, which runs the tool's code too
    (a generator, an exception's `__str__`) and so must not run in the caller's."""
    if _abandoned_running >= MAX_ABANDONED:
        raise ToolFailed(f"{_abandoned_running} earlier tool calls timed out and are still running, "
                         "so no new call is started until one of them ends")
    call = _ThreadedCall(function, kwargs, finish, asyncio.get_running_loop())
    try:
        return await asyncio.wait_for(call.future, timeout)
    except BaseException:  # the deadline, or the caller cancelled: stop waiting, never wait for the tool
        call.abandon()
        raise


class _ThreadedCall:
    """One call in a daemon thread, settling `future` on the caller's loop when it ends."""

    def __init__(self, function: Callable[..., Any], kwargs: dict[str, Any],
                 finish: Callable[[Callable[[], Any]], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future[Any] = loop.create_future()
        self._function, self._kwargs, self._finish_call, self._caller_loop = function, kwargs, finish, loop
        self._lock = threading.Lock()
        self._task: asyncio.Task[Any] | None = None  # the async call's task, on the thread's own loop
        self._abandoned = self._finished = False
        name = f"tool-{getattr(function, '__name__', 'call')}"
        thread = threading.Thread(target=contextvars.copy_context().run, args=(self._work,), name=name, daemon=True)
        thread.start()

    def abandon(self) -> None:
        """Count the call as abandoned while it runs on, and cancel it if it is async."""
        global _abandoned_running
        with self._lock:
            if self._finished or self._abandoned:
                return
            self._abandoned = True
            with _abandoned_lock:
                _abandoned_running += 1
            if self._task is not None:
                with contextlib.suppress(RuntimeError):  # its loop has just closed
                    self._task.get_loop().call_soon_threadsafe(self._task.cancel)

    def _work(self) -> None:
        value, error = None, None
        try:
            value = self._finish_call(self._call)
        except Exception as exc:
            error = exc
        except BaseException as exc:  # SystemExit, KeyboardInterrupt, CancelledError, GeneratorExit, ...
            error = _base_exception_failure(exc)  # dropped when the call was abandoned: nobody waits
        self._finish()
        with contextlib.suppress(RuntimeError):  # the caller's loop closed while an abandoned call ran on
            self._caller_loop.call_soon_threadsafe(_settle, self.future, value, error)

    def _call(self) -> Any:
        if inspect.iscoroutinefunction(self._function):
            return asyncio.run(self._awaited())
        return self._function(**self._kwargs)

    async def _awaited(self) -> Any:
        with self._lock:
            if self._abandoned:  # abandoned before its loop was up
                raise asyncio.CancelledError
            self._task = asyncio.current_task()
        return await self._function(**self._kwargs)

    def _finish(self) -> None:
        global _abandoned_running
        with self._lock:
            self._finished = True
            if self._abandoned:
                with _abandoned_lock:
                    _abandoned_running -= 1


def _settle(future: asyncio.Future[Any], value: Any, error: Exception | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _base_exception_failure(exc: BaseException) -> ToolFailed:
    if isinstance(exc, asyncio.CancelledError):
        return ToolFailed("it raised CancelledError: the tool cancelled itself, so it has no result")
    return ToolFailed(f"it raised {type(exc).__name__}({exception_text(exc)}), which ends programs, not tool calls")


def exception_text(exc: BaseException) -> str:
    """`str(exc)`, or a note naming its type when its `__str__` itself fails."""
    try:
        return str(exc)
    except Exception:
        return f"<a {type(exc).__name__} whose message cannot be read>"
