"""The JSON path of the schema node whose automata are being built, for errors raised deep inside.

Automaton code (`regular`) has no idea which schema keyword it serves; when it passes a cost limit
it still has to name the JSON path, so the schema compiler records the node it is compiling here.

Example: `with building_at("/properties/a"): to_fsm(r)`; inside, `current_path()` is that path.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

__all__ = ["building_at", "current_path"]

_PATH: ContextVar[str] = ContextVar("a3agent_schema_path", default="")


@contextmanager
def building_at(path: str) -> Iterator[None]:
    """Name `path` as the node being compiled until the block ends."""
    token = _PATH.set(path)
    try:
        yield
    finally:
        _PATH.reset(token)


def current_path() -> str:
    """The JSON path of the node being compiled ("" outside a schema compile)."""
    return _PATH.get()
