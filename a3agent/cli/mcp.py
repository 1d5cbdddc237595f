"""`--mcp CONFIG.json` on the command line: start the config's MCP servers and add their tools.

The servers start once, before the model loads, and stay up for the whole REPL or run; the caller
closes them. Each tool the grammar engine cannot enforce is named in a yellow line with its schema
path, and the rest load. A tool whose name a `--tools` tool or another server already uses gets its
server's name in front. The `mcp` SDK is imported here, only when `--mcp` is given.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from a3agent.cli.models import progress
from a3agent.tools import Toolbox
from a3agent.tools.mcp_servers import MCPServers

__all__ = ["start_mcp", "with_mcp_tools"]


def start_mcp(path: Path, console: Console) -> MCPServers:
    """The config's servers, started; raises `MCPServerError` for a bad config or a server that cannot start."""
    from a3agent.grammars import check_schema

    servers = MCPServers.from_config(path, schema_check=check_schema)
    with progress(console, f"starting the MCP servers of {path}"):
        servers.start()
    for refused in servers.refused:
        console.print(f"[yellow]MCP server {escape(refused.server)}: tool {escape(refused.name)} is left out: "
                      f"{escape(refused.reason)}[/yellow]", soft_wrap=True)
    return servers


def with_mcp_tools(toolbox: Toolbox, servers: MCPServers) -> tuple[Toolbox, dict[str, str]]:
    """`toolbox` plus the servers' tools, and each MCP tool's server by tool name (for `/tools`)."""
    named = servers.named_tools(taken=[tool.name for tool in toolbox])
    merged = Toolbox([*toolbox, *(tool for _, tool in named)], max_pixels=toolbox.max_pixels)
    return merged, {tool.name: server.name for server, tool in named}
