"""The stdio transport to an MCP server process, with a cap on the size of each message it sends.

The SDK's own stdio transport reads a line by concatenating strings with no limit, so a server that
writes a 100 MB result costs quadratic time and unbounded memory before anything can refuse it. Here
the server's stdout is read as bytes into one buffer that never holds more than `max_message_bytes`
past the last newline: a longer message closes the connection (`overflow` says why), which every
pending and later call sees as the server gone. Shutdown follows the MCP spec as the SDK does: close
stdin, wait, then SIGTERM and SIGKILL the server's process group, every wait bounded.

Not handled: Windows (the process group kill is POSIX).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio
import mcp_types
from anyio.abc import Process
from mcp.client._transport import TransportStreams
from mcp.client.stdio import get_default_environment
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.message import SessionMessage

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "StdioProcess"]

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""The largest JSON-RPC message a server may send (a 33 M-pixel PNG, base64-encoded, fits)."""

_EXIT_GRACE_S = 2.0
"""How long a server whose stdin closed may take to exit before its process group is terminated."""
_KILL_GRACE_S = 2.0
"""How long after SIGTERM before SIGKILL."""


class StdioProcess:
    """One server process: `open()` is the transport `mcp.Client` takes; `returncode` and `overflow` tell
    why it went away."""

    def __init__(self, command: str, args: list[str], env: dict[str, str], max_message_bytes: int) -> None:
        self.command, self.args, self.env = command, args, env
        self.max_message_bytes = max_message_bytes
        self.overflow: str | None = None
        """Set when the server sent a message past the cap and the connection was closed for it."""
        self._process: Process | None = None

    @property
    def returncode(self) -> int | None:
        """The process's exit status once it has exited (negative: killed by that signal)."""
        return None if self._process is None else self._process.returncode

    @asynccontextmanager
    async def open(self) -> AsyncIterator[TransportStreams]:
        """Start the process and exchange newline-delimited JSON-RPC with it until the block ends."""
        process = await anyio.open_process(
            [self.command, *self.args], env=get_default_environment() | self.env, stderr=sys.stderr,
            start_new_session=True,
        )  # fmt: skip
        self._process = process
        to_session, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        write_stream, from_session = anyio.create_memory_object_stream[SessionMessage](0)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._read, process, to_session)
            tasks.start_soon(_write, process, from_session)
            try:
                yield read_stream, write_stream
            finally:
                with anyio.CancelScope(shield=True):
                    await _stop(process)
                tasks.cancel_scope.cancel()

    async def _read(self, process: Process, to_session: anyio.abc.ObjectSendStream[SessionMessage | Exception]) -> None:
        assert process.stdout is not None, "the process is opened with pipes"
        buffer = bytearray()
        async with to_session:
            with suppress(anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                async for chunk in process.stdout:
                    scanned = len(buffer)
                    buffer += chunk
                    while (end := buffer.find(b"\n", scanned)) >= 0:
                        await to_session.send(_parse(bytes(buffer[:end])))
                        del buffer[: end + 1]
                        scanned = 0
                    if len(buffer) > self.max_message_bytes:
                        self.overflow = (f"it sent a message of more than {self.max_message_bytes:,} bytes, past "
                                         "the cap, so the connection to it was closed")
                        return


async def _write(process: Process, from_session: anyio.abc.ObjectReceiveStream[SessionMessage]) -> None:
    assert process.stdin is not None, "the process is opened with pipes"
    with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
        async with from_session:
            async for message in from_session:
                text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await process.stdin.send((text + "\n").encode())


def _parse(line: bytes) -> SessionMessage | Exception:
    """One message, or the parse error as a value for the session to report (a server's stray print)."""
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as exc:
        return exc


async def _stop(process: Process) -> None:
    """Close stdin, give the server `_EXIT_GRACE_S` to exit, then terminate its whole process group."""
    assert process.stdin is not None and process.stdout is not None, "the process is opened with pipes"
    with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    with anyio.move_on_after(_EXIT_GRACE_S):
        await process.wait()
    if process.returncode is None:
        with suppress(ProcessLookupError, PermissionError):
            await terminate_posix_process_tree(process, _KILL_GRACE_S)
    with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdout.aclose()
    # anyio leaves asyncio's subprocess transport open, and its finaliser would then run on a closed
    # loop; nothing public reaches it (the SDK's stdio transport walks the same attributes)
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    with suppress(PermissionError):
        getattr(transport, "close", lambda: None)()
