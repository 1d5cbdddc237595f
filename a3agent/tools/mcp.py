"""MCP servers as tools: connect to a Model Context Protocol server, list its tools, call them.

`MCPServer` holds one connection (the SDK's `mcp.Client`) on an event loop of its own, in a background
thread that owns the session for the server's whole life. So one started server serves `async with`
code, scripts (`with`) and `Agent.run` (a new event loop per run) alike, and starts once per agent or
REPL, not per call: each call crosses to that loop and back. Cancelling a call (the toolbox's timeout,
Ctrl-C) cancels it on the server too.

Each listed tool becomes a `Tool` whose parameters are the server's `inputSchema`, checked with
`schema_check` (pass the grammar engine's `a3agent.check_schema`; the tools room cannot import it): a
tool it refuses goes to `refused` with the schema's JSON path, and the others load. Arguments are
validated by the toolbox; a call runs under `timeout` and raises `MCPTimeout`, `MCPDisconnected` or
`MCPCallFailed` (the toolbox reports them to the model). MCP tools ask for approval unless `trust`.

Names and descriptions are the server's untrusted text. A name is kept to `[A-Za-z0-9_.-]` (other
characters become `_`) and `MAX_NAME_CHARS`, so the grammar takes it as a plain literal; descriptions
are cut at `MAX_DESCRIPTION_CHARS`, schemas past `MAX_SCHEMA_CHARS` are refused, and the chat template
marks any special-token spelling in tool text as text. Listing reads at most `MAX_LIST_PAGES` pages
and keeps `MAX_TOOLS` tools (the rest are refused as one entry).

Not handled: resources, prompts, sampling and elicitation requests, and a server's notice that its
tools changed (they are listed once, at start).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mcp_types
from mcp import Client, Implementation
from mcp import MCPError as ProtocolError
from mcp.client._transport import TransportStreams
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from a3agent import __version__
from a3agent.errors import (
    A3AgentError,
    MCPCallFailed,
    MCPDisconnected,
    MCPServerError,
    MCPTimeout,
    ToolDefinitionError,
)
from a3agent.tools.definition import DEFAULT_TIMEOUT, Tool, ToolDefinition
from a3agent.tools.mcp_results import mcp_tool_result
from a3agent.tools.mcp_stdio import DEFAULT_MAX_MESSAGE_BYTES, StdioProcess
from a3agent.tools.results import ToolResult
from a3agent.tools.toolbox import SchemaCheck

__all__ = ["MAX_TOOLS", "MAX_LIST_PAGES", "MAX_NAME_CHARS", "MAX_DESCRIPTION_CHARS", "MAX_SCHEMA_CHARS",
           "RefusedTool", "MCPServer", "tool_name"]  # fmt: skip

MAX_TOOLS = 256
"""Tools kept from one server; a server listing more has the rest refused as one entry."""
MAX_LIST_PAGES = 64
"""Pages of `tools/list` read; a server whose cursor never ends fails to start."""
MAX_NAME_CHARS = 64
"""Characters of a tool name (the OpenAI limit); longer names are cut."""
MAX_DESCRIPTION_CHARS = 4096
"""Characters of a tool description kept: it goes into every prompt."""
MAX_SCHEMA_CHARS = 65_536
"""Characters of a tool's inputSchema as JSON; a larger schema is refused (it goes into every prompt)."""

_BACKSTOP_S = 5.0
"""Extra seconds the toolbox waits past the call's own timeout before abandoning it."""
_CLOSE_S = 15.0
"""How long closing waits for the session to wind down (the stdio shutdown takes at most ~4 s)."""
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class RefusedTool:
    """A tool a server lists that is not offered to the model, and why."""

    server: str
    name: str
    reason: str
    path: str | None = None
    """The JSON pointer into its inputSchema that the grammar engine refused, when that is why."""


class MCPServer:
    """One MCP server: start it (`with`, `async with` or `start()`), hand `tools()` to an `Agent`, close it.

    Example: `with MCPServer.stdio("uvx", ["mcp-server-git"], schema_check=check_schema) as git:
    Agent(model, git.tools()).run("What changed?")`
    """

    def __init__(
        self,
        name: str,
        transport: Callable[[], AbstractAsyncContextManager[TransportStreams]],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        trust: bool = False,
        schema_check: SchemaCheck | None = None,
        process: StdioProcess | None = None,
    ) -> None:
        self.name = tool_name(name) or "mcp"
        """The server's name, kept to the characters a tool name may hold (it prefixes colliding names)."""
        self.timeout, self.trust, self.schema_check = timeout, trust, schema_check
        self.refused: list[RefusedTool] = []
        """The listed tools that are not offered, each with its reason; filled at start."""
        self._transport, self._process = transport, process
        self._tools: list[Tool] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._served: concurrent.futures.Future[None] | None = None
        self._client: Client | None = None
        self._closing: asyncio.Event | None = None

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        trust: bool = False,
        schema_check: SchemaCheck | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> MCPServer:
        """A server run as a subprocess speaking over stdin/stdout; `env` is added to PATH, HOME and the like."""
        process = StdioProcess(command, list(args), dict(env or {}), max_message_bytes)
        return cls(name or Path(command).stem, process.open, timeout=timeout, trust=trust,
                   schema_check=schema_check, process=process)

    @classmethod
    def http(
        cls,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        trust: bool = False,
        schema_check: SchemaCheck | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> MCPServer:
        """A server reached over streamable HTTP at `url`, each request carrying `headers`."""

        @asynccontextmanager
        async def transport() -> AsyncIterator[TransportStreams]:
            async with create_mcp_http_client(headers=dict(headers or {})) as http:
                async with streamable_http_client(url, http_client=http, max_sse_event_size=max_message_bytes) as streams:
                    yield streams

        return cls(name or urlsplit(url).hostname or "mcp", transport, timeout=timeout, trust=trust,
                   schema_check=schema_check)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> MCPServer:
        """Connect and list the tools (blocking); raises `MCPServerError` when the server cannot be used."""
        if self._loop is not None:
            raise MCPServerError(f"the MCP server {self.name!r} was already started; start a new MCPServer")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"mcp-{self.name}", daemon=True)
        self._thread.start()
        ready: concurrent.futures.Future[list[Tool]] = concurrent.futures.Future()
        self._served = asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop)
        try:
            self._tools = ready.result()  # each request under `timeout`, the pages bounded: it returns
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """End the session and stop the server process; calls after this raise `MCPDisconnected`."""
        loop, self._loop = self._loop, None
        if loop is None or self._thread is None:
            return
        if self._closing is not None:
            loop.call_soon_threadsafe(self._closing.set)
        if self._served is not None:
            try:
                self._served.result(timeout=_CLOSE_S)
            except concurrent.futures.TimeoutError:
                self._served.cancel()
            except BaseException:  # the session already failed; its error was reported where it happened
                pass
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(_CLOSE_S)
        if not self._thread.is_alive():
            loop.close()

    def __enter__(self) -> MCPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> MCPServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.close)

    # -- tools --------------------------------------------------------------------------------------

    def tools(self) -> list[Tool]:
        """The server's tools that can be offered, in its order (see `refused` for the others)."""
        if self._tools is None:
            raise MCPServerError(f"the MCP server {self.name!r} is not started: use `with`, `async with` or start()")
        return list(self._tools)

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        """Call the server's tool `name` (its own name, not a prefixed one) from any event loop."""
        loop = self._loop
        if loop is None:
            raise MCPDisconnected(f"the MCP server {self.name!r} is closed; start it again to call {name!r}")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._call(name, arguments), loop))

    # -- on the server's own loop -------------------------------------------------------------------

    async def _serve(self, ready: concurrent.futures.Future[list[Tool]]) -> None:
        """Hold the session open until `close`; report the tools (or the failure to start) on `ready`."""
        self._closing = asyncio.Event()
        info = Implementation(name="a3agent", version=__version__)
        try:
            async with Client(self._transport(), read_timeout_seconds=self.timeout, client_info=info) as client:
                listed = await self._list(client)
                self._client = client
                ready.set_result(self._offered(listed))
                await self._closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(self._start_error(exc))
            elif not isinstance(exc, (Exception, asyncio.CancelledError)):
                raise
        finally:
            self._client = None

    async def _list(self, client: Client) -> list[mcp_types.Tool]:
        listed: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            page = await client.list_tools(cursor=cursor)
            listed += page.tools[: MAX_TOOLS + 1 - len(listed)]
            cursor = page.next_cursor
            if cursor is None or len(listed) > MAX_TOOLS:
                return listed
        raise MCPServerError(f"the MCP server {self.name!r} lists its tools in more than {MAX_LIST_PAGES} pages")

    async def _call(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        client = self._client
        if client is None:
            raise MCPDisconnected(await self._gone())
        try:
            result = await client.call_tool(name, arguments, read_timeout_seconds=self.timeout)
        except ProtocolError as exc:
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                raise MCPTimeout(f"the MCP server {self.name!r} did not answer within {self.timeout:g} s; the "
                                 "call was cancelled. Try a smaller request or another approach") from None
            if exc.code == mcp_types.CONNECTION_CLOSED:
                raise MCPDisconnected(await self._gone()) from None
            raise MCPCallFailed(f"the MCP server {self.name!r} answered with error {exc.code}: {exc}") from None
        return mcp_tool_result(result)

    async def _gone(self) -> str:
        """Why the server went away, as precisely as is known."""
        process = self._process
        for _ in range(50):  # a process whose pipe closed is reaped within moments; wait at most 0.5 s
            if process is None or process.overflow or process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        if process is not None and process.overflow:
            why = process.overflow
        elif process is not None and process.returncode is not None:
            why = f"its process exited with status {process.returncode}"
        else:
            why = "its connection closed"
        return f"the MCP server {self.name!r} is gone: {why}. Its tools cannot be used until it is restarted"

    def _start_error(self, exc: BaseException) -> BaseException:
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        if isinstance(exc, MCPServerError):
            return exc
        if isinstance(exc, ProtocolError) and exc.code == mcp_types.REQUEST_TIMEOUT:
            return MCPServerError(f"the MCP server {self.name!r} did not answer within {self.timeout:g} s at start")
        return MCPServerError(f"cannot start the MCP server {self.name!r}: {type(exc).__name__}: {exc}")

    # -- listed tools as Tools ----------------------------------------------------------------------

    def _offered(self, listed: list[mcp_types.Tool]) -> list[Tool]:
        self.refused = []
        if len(listed) > MAX_TOOLS:
            self.refused.append(RefusedTool(self.name, f"tools after the first {MAX_TOOLS}",
                                            f"the server lists more than MAX_TOOLS={MAX_TOOLS} tools"))
        tools: dict[str, Tool] = {}
        for remote in listed[:MAX_TOOLS]:
            try:
                tool = self._as_tool(remote, taken=tools)
            except A3AgentError as exc:  # this tool's definition or schema: the others still load
                self.refused.append(RefusedTool(self.name, remote.name[:MAX_NAME_CHARS], str(exc),
                                                getattr(exc, "path", None)))
            else:
                tools[tool.name] = tool
        return list(tools.values())

    def _as_tool(self, remote: mcp_types.Tool, taken: Mapping[str, Tool]) -> Tool:
        name = tool_name(remote.name)
        if not name:
            raise ToolDefinitionError("its name has no letter, digit, '_', '-' or '.' to keep")
        if name in taken:
            raise ToolDefinitionError(f"its name reads {name!r} once cut to the allowed characters, as another "
                                      "tool's of this server does")
        schema = remote.input_schema
        if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
            raise ToolDefinitionError(f"its inputSchema is longer than MAX_SCHEMA_CHARS={MAX_SCHEMA_CHARS}")
        definition = ToolDefinition(name, (remote.description or "")[:MAX_DESCRIPTION_CHARS], schema)
        if self.schema_check is not None:
            self.schema_check(schema)
        return Tool(definition, self._remote_call(remote.name), timeout=self.timeout + _BACKSTOP_S,
                    requires_approval=not self.trust)

    def _remote_call(self, remote_name: str) -> Callable[..., Any]:
        async def call(**arguments: Any) -> ToolResult:
            return await self.call(remote_name, arguments)

        return call


def tool_name(text: str) -> str:
    """`text` as a tool name: characters outside `[A-Za-z0-9_.-]` become `_`, cut at `MAX_NAME_CHARS`.

    Example: `tool_name("read file<|im_end|>")` -> `'read_file__im_end__'`; "" when nothing is left.
    """
    name = _UNSAFE_NAME.sub("_", text)[:MAX_NAME_CHARS]
    return name if name.strip("_") else ""
