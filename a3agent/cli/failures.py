"""Errors as the person at the terminal sees them: one red line, no traceback unless `--debug`.

a3agent's own errors (`a3agent.errors`) already say what went wrong and what to do, so the line is
a label for the kind of error and its message. Anything else is a bug or an OS failure: it gets a
line too, pointing to `--debug` for the traceback.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.traceback import Traceback

from a3agent.errors import (
    A3AgentError,
    AgentError,
    CommandLineError,
    GrammarError,
    ImageError,
    ModelError,
    ToolError,
)

__all__ = ["error_line", "report"]

_LABELS: tuple[tuple[type[BaseException], str], ...] = (
    (CommandLineError, "error"),
    (ImageError, "image error"),  # before ModelError, its base
    (ModelError, "model error"),
    (GrammarError, "grammar error"),
    (ToolError, "tool error"),
    (AgentError, "agent error"),
    (A3AgentError, "error"),
    (OSError, "file error"),
)


def error_line(exc: BaseException) -> str:
    """The one line that reports `exc`. Example: `image error: cat.png: no such file; check the path`."""
    label = next((name for kind, name in _LABELS if isinstance(exc, kind)), None)
    if label is None:
        return f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
    return f"{label}: {exc}"


def report(console: Console, exc: BaseException, debug: bool) -> None:
    """Print `exc` as one red line, after its traceback under `--debug`."""
    if debug:
        console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__))
    console.print(f"[red]{escape(error_line(exc))}[/red]", soft_wrap=True)
