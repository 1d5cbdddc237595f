"""Run a tool function, sync or async, under a timeout without blocking the event loop.

Sync functions run in a daemon thread of their own rather than in the loop's default executor: a
thread cannot be killed, and a hung tool left in the default executor would block `asyncio.run` at
exit and fill the pool. A timed-out sync call therefore goes on running in the background; its result
is dropped.

A tool that raises `SystemExit` (`sys.exit()`), or a sync tool that raises `KeyboardInterrupt` (which
cannot be a real Ctrl-C there: signals reach the main thread only), fails with `ToolFailed` instead of
ending the agent or leaving the call unsettled. An async tool's `KeyboardInterrupt` may be the user's
Ctrl-C and propagates.
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

__all__ = ["run_with_timeout"]


async def run_with_timeout(function: Callable[..., Any], kwargs: dict[str, Any], timeout: float | None) -> Any:
    """Await `function(**kwargs)`; raises TimeoutError after `timeout` seconds (None: no limit)."""
    if inspect.iscoroutinefunction(function):
        return await asyncio.wait_for(_guarded(function, kwargs), timeout)
    return await asyncio.wait_for(_in_thread(function, kwargs), timeout)


async def _guarded(function: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return await function(**kwargs)
    except SystemExit as exc:
        raise _exit_failure(exc) from None


def _in_thread(function: Callable[..., Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def work() -> None:
        try:
            value, error = function(**kwargs), None
        except Exception as exc:
            value, error = None, exc
        except (SystemExit, KeyboardInterrupt) as exc:
            value, error = None, _exit_failure(exc)
        with contextlib.suppress(RuntimeError):  # the loop closed while a timed-out call ran on
            loop.call_soon_threadsafe(_settle, future, value, error)

    name = f"tool-{getattr(function, '__name__', 'call')}"
    threading.Thread(target=contextvars.copy_context().run, args=(work,), name=name, daemon=True).start()
    return future


def _settle(future: asyncio.Future[Any], value: Any, error: Exception | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _exit_failure(exc: BaseException) -> ToolFailed:
    return ToolFailed(f"it raised {type(exc).__name__}({exc}), which ends programs, not tool calls")
