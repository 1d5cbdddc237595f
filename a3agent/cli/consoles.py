"""The command's two rich consoles, stdout and stderr, made on first use.

Importing rich takes about 50 ms that `--help` and the parser's usage errors never need; the commands'
own output and error lines do, and ask for a console when they print. Both show the control
characters of what they print instead of sending them to the terminal (`visible.py`).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["err_console", "out_console"]


@cache
def out_console() -> Console:
    """The console on stdout."""
    from a3agent.cli.safe_console import SafeConsole

    return SafeConsole(highlight=False)


@cache
def err_console() -> Console:
    """The console on stderr: progress, notices and error lines."""
    from a3agent.cli.safe_console import SafeConsole

    return SafeConsole(stderr=True, highlight=False)
