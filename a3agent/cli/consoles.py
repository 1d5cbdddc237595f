"""The command's two rich consoles, stdout and stderr, made on first use.

Importing rich takes about 50 ms that `--help` and the parser's usage errors never need; the commands'
own output and error lines do, and ask for a console when they print.
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
    from rich.console import Console

    return Console(highlight=False)


@cache
def err_console() -> Console:
    """The console on stderr: progress, notices and error lines."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)
