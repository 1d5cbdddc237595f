"""The built-in toolbox: look closer at images, do arithmetic, tell the time, fetch URLs, read files.

File reading is off unless a root folder is given; URL fetching never reaches private addresses
unless `allow_private` says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from a3agent.tools.calculate import calculate
from a3agent.tools.clock import now
from a3agent.tools.definition import Tool
from a3agent.tools.files import read_text_tool
from a3agent.tools.http import http_get_tool
from a3agent.tools.images import crop, grid, image_info, zoom
from a3agent.tools.toolbox import Toolbox

__all__ = ["builtin_tools"]


def builtin_tools(
    *,
    root: str | os.PathLike[str] | None = None,
    allow_hosts: Iterable[str] | None = None,
    allow_private: bool = False,
) -> Toolbox:
    """crop, zoom, grid, image_info, calculate, now, http_get, and read_text when `root` is given.

    `root`: the folder read_text may read. `allow_hosts`: restrict http_get to these hosts (and their
    subdomains). `allow_private`: let http_get reach private, loopback and link-local addresses.
    """
    tools: list[Tool] = [crop, zoom, grid, image_info, calculate, now]
    tools.append(http_get_tool(allow_hosts=allow_hosts, allow_private=allow_private))
    if root is not None:
        tools.append(read_text_tool(root))
    return Toolbox(tools)
