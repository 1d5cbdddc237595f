"""Errors as the person at the terminal or a script sees them: a line, an exit status, a JSON object.

a3agent's own errors (`a3agent.errors`) already say what went wrong and what to do, so the line is
a label for the kind of error and its message. Each kind has an exit status and a stable `type`
that `--json` reports (`{"error": {"type": ..., "message": ...}}`), one table for all three.
Anything else is a bug or an OS failure: it gets a line too, pointing to `--debug` for the traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from a3agent.errors import (
    A3AgentError,
    AgentError,
    CommandLineError,
    GrammarError,
    ImageError,
    ModelError,
    ModelNotFound,
    NotCachedLocally,
    ToolDefinitionError,
    ToolError,
    UnsatisfiableSchema,
    UnsupportedSchema,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Failure", "USAGE", "INTERRUPTED", "failure_of", "error_line", "error_json", "report"]


@dataclass(frozen=True)
class Failure:
    """One kind of failure: which errors it covers and how it is reported."""

    label: str
    """Starts the error line: `label: message`."""
    type: str
    """`error.type` under `--json`; stable across releases."""
    status: int
    """The process exit status."""
    covers: Callable[[BaseException], bool]


def _kind(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda exc: isinstance(exc, kinds)


def _missing_file(exc: BaseException) -> bool:
    """A file the person named does not exist (a3agent's errors wrap `FileNotFoundError`)."""
    return isinstance(exc, FileNotFoundError) or isinstance(exc.__cause__ or exc.__context__, FileNotFoundError)


USAGE = Failure("error", "usage", 2, _kind(CommandLineError))
INTERRUPTED = Failure("interrupted", "interrupted", 130, _kind(KeyboardInterrupt))
_FAILURES = (  # the first that covers an error reports it
    USAGE,
    INTERRUPTED,
    Failure("model error", "model_not_found", 3, _kind(ModelNotFound, NotCachedLocally)),
    Failure("image error", "file_not_found", 3, lambda exc: isinstance(exc, ImageError) and _missing_file(exc)),
    Failure("agent error", "file_not_found", 3, lambda exc: isinstance(exc, AgentError) and _missing_file(exc)),
    Failure("file error", "file_not_found", 3, _kind(FileNotFoundError)),
    Failure("grammar error", "schema_refused", 4, _kind(UnsupportedSchema, UnsatisfiableSchema)),
    Failure("tool error", "schema_refused", 4, _kind(ToolDefinitionError)),
    Failure("image error", "image", 1, _kind(ImageError)),  # before ModelError, its base
    Failure("model error", "model", 1, _kind(ModelError)),
    Failure("grammar error", "grammar", 1, _kind(GrammarError)),
    Failure("tool error", "tool", 1, _kind(ToolError)),
    Failure("agent error", "agent", 1, _kind(AgentError)),
    Failure("error", "error", 1, _kind(A3AgentError)),
    Failure("file error", "file", 1, _kind(OSError)),
)
_INTERNAL = Failure("internal error", "internal", 1, lambda exc: True)


def failure_of(exc: BaseException) -> Failure:
    """The kind of failure `exc` is; `internal` for anything a3agent did not raise on purpose."""
    return next((failure for failure in _FAILURES if failure.covers(exc)), _INTERNAL)


def _message(exc: BaseException, failure: Failure) -> str:
    if failure is INTERRUPTED:
        return "interrupted"
    if failure is _INTERNAL:
        return f"{type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
    return str(exc)


def error_line(exc: BaseException) -> str:
    """The one line that reports `exc`. Example: `image error: cat.png: no such file; check the path`."""
    failure = failure_of(exc)
    return failure.label if failure is INTERRUPTED else f"{failure.label}: {_message(exc, failure)}"


def error_json(exc: BaseException) -> str:
    """`exc` as `{"error": {"type": ..., "message": ...}}` on one line."""
    from a3agent.cli.visible import visible_json  # a message may carry a tool's or a page's text

    failure = failure_of(exc)
    return visible_json(json.dumps({"error": {"type": failure.type, "message": _message(exc, failure)}}, ensure_ascii=False))


def report(console: Console, exc: BaseException, debug: bool) -> None:
    """Print `exc` as one red line, after its traceback under `--debug`."""
    from rich.markup import escape

    if debug:
        from rich.traceback import Traceback  # only here: it is slow to import, and startup is not

        console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__))
    console.print(f"[red]{escape(error_line(exc))}[/red]", soft_wrap=True)
