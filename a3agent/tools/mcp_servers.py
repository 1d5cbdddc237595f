"""Several MCP servers for one agent, as an `mcpServers` config file (Claude Desktop's, Cursor's) names them.

    {"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."]},
        "shots": {"url": "http://localhost:8000/mcp", "headers": {"Authorization": "Bearer ..."}, "trust": true}
    }}

An entry has `command` (with optional `args`, `env`) or `url` (with optional `headers`), and may say
`"trust": true` to let its tools run without asking. Any other key is refused by name, so a typo is
not silently ignored. `MCPServers` starts them together, closes them together, and gives their tools
to one agent: a name that two servers list, or that the agent's own tools already use, gets its
server's name in front (`files.read_file`). At most `MAX_SERVERS` servers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from a3agent.errors import MCPServerError
from a3agent.tools.definition import DEFAULT_TIMEOUT, Tool
from a3agent.tools.mcp import MCPServer, RefusedTool
from a3agent.tools.toolbox import SchemaCheck

__all__ = ["MAX_SERVERS", "MCPServers"]

MAX_SERVERS = 32
"""Servers one config may name."""

_STDIO_KEYS, _HTTP_KEYS = {"command", "args", "env"}, {"url", "headers"}
_COMMON_KEYS = {"trust", "type"}


class MCPServers:
    """Servers started and closed together; `tools()` gives all their tools, colliding names prefixed."""

    def __init__(self, servers: Sequence[MCPServer]) -> None:
        names = Counter(server.name for server in servers)
        if twice := sorted(name for name, count in names.items() if count > 1):
            raise MCPServerError(f"two MCP servers are named {', '.join(map(repr, twice))}; give each its own name")
        self.servers = list(servers)

    @classmethod
    def from_config(
        cls, path: str | Path, *, timeout: float = DEFAULT_TIMEOUT, schema_check: SchemaCheck | None = None
    ) -> MCPServers:
        """The servers a config file names (not started); raises `MCPServerError` for a bad file."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise MCPServerError(f"cannot read the MCP config {str(path)!r}: {exc.strerror or exc}") from None
        except (ValueError, RecursionError) as exc:
            raise MCPServerError(f"the MCP config {str(path)!r} is not JSON: {exc}") from None
        entries = document.get("mcpServers") if isinstance(document, dict) else None
        if not isinstance(entries, dict):
            raise MCPServerError(f"the MCP config {str(path)!r} needs an object {{\"mcpServers\": {{NAME: ...}}}}")
        if len(entries) > MAX_SERVERS:
            raise MCPServerError(f"the MCP config {str(path)!r} names {len(entries)} servers, more than {MAX_SERVERS}")
        return cls([_server(name, entry, timeout, schema_check) for name, entry in entries.items()])

    def start(self) -> MCPServers:
        """Start every server at once; if one fails, the others are closed and its error is raised."""
        with ThreadPoolExecutor(max(1, len(self.servers))) as pool:
            started = [pool.submit(server.start) for server in self.servers]
        failures = [future.exception() for future in started if future.exception() is not None]
        if failures:
            self.close()
            raise failures[0]  # type: ignore[misc]  # a BaseException, from start
        return self

    def close(self) -> None:
        """Close every server (closing one never started, or already closed, does nothing)."""
        for server in self.servers:
            server.close()

    def __enter__(self) -> MCPServers:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> MCPServers:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.close)

    @property
    def refused(self) -> list[RefusedTool]:
        """Every server's refused tools."""
        return [refused for server in self.servers for refused in server.refused]

    def named_tools(self, taken: Iterable[str] = ()) -> list[tuple[MCPServer, Tool]]:
        """Each tool with its server; a name listed twice, or in `taken`, becomes `SERVER.NAME`."""
        listed = [(server, tool) for server in self.servers for tool in server.tools()]
        counts = Counter([tool.name for _, tool in listed] + list(dict.fromkeys(taken)))
        return [(server, _renamed(tool, f"{server.name}.{tool.name}") if counts[tool.name] > 1 else tool)
                for server, tool in listed]

    def tools(self, taken: Iterable[str] = ()) -> list[Tool]:
        """The tools of every server, for one agent (`taken`: the names of its other tools)."""
        return [tool for _, tool in self.named_tools(taken)]


def _renamed(tool: Tool, name: str) -> Tool:
    return dataclasses.replace(tool, definition=dataclasses.replace(tool.definition, name=name))


def _server(name: str, entry: Any, timeout: float, schema_check: SchemaCheck | None) -> MCPServer:
    where = f"mcpServers.{name}"
    if not isinstance(entry, dict):
        raise MCPServerError(f"{where} must be an object with \"command\" or \"url\"")
    kind = _HTTP_KEYS if "url" in entry else _STDIO_KEYS
    if ("url" in entry) == ("command" in entry):
        raise MCPServerError(f"{where} needs exactly one of \"command\" (a local server) and \"url\" (a remote one)")
    if unknown := sorted(entry.keys() - kind - _COMMON_KEYS):
        raise MCPServerError(f"{where} has keys this config format does not know: {', '.join(unknown)}; "
                             f"use {', '.join(sorted(kind | {'trust'}))}")
    if entry.get("type", "http" if "url" in entry else "stdio") not in ("stdio", "http", "streamable-http"):
        raise MCPServerError(f"{where}: type {entry['type']!r} is not supported; use a streamable HTTP url or a command")
    trust = entry.get("trust", False)
    _check(isinstance(trust, bool), where, "trust", "true or false")
    options: dict[str, Any] = {"name": name, "timeout": timeout, "trust": trust, "schema_check": schema_check}
    if "url" in entry:
        _check(isinstance(entry["url"], str), where, "url", "a string")
        return MCPServer.http(entry["url"], _strings(entry.get("headers", {}), where, "headers"), **options)
    _check(isinstance(entry["command"], str) and bool(entry["command"]), where, "command", "a non-empty string")
    args = entry.get("args", [])
    _check(isinstance(args, list) and all(isinstance(a, str) for a in args), where, "args", "a list of strings")
    return MCPServer.stdio(entry["command"], args, _strings(entry.get("env", {}), where, "env"), **options)


def _strings(value: Any, where: str, key: str) -> dict[str, str]:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    _check(ok, where, key, "an object of strings")
    return value


def _check(ok: bool, where: str, key: str, wanted: str) -> None:
    if not ok:
        raise MCPServerError(f"{where}.{key} must be {wanted}")
