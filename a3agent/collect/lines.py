"""Reading a JSONL file line by line under a per-line byte cap, so no line can exhaust memory.

A line longer than the cap is read past in fixed-size chunks and reported as too long (its bytes are
never held whole); a file of any size costs memory for one line at a time. Not handled here: what a
line means (the tasks and trajectory readers decide), and files written while they are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["Line", "bounded_lines"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Line:
    """One line of the file: its 1-based number and its bytes, or None when it passed the cap."""

    number: int
    data: bytes | None


def bounded_lines(path: Path, max_bytes: int) -> Iterator[Line]:
    """The non-blank lines of `path`, newline stripped; those over `max_bytes` come with `data=None`.

    Raises OSError (FileNotFoundError, PermissionError) as `open` does.
    """
    with path.open("rb") as file:
        number = 0
        while line := file.readline(max_bytes + 1):
            number += 1
            if len(line) > max_bytes and not line.endswith(b"\n"):
                _skip_rest(file)
                yield Line(number, None)
            elif line.strip():
                yield Line(number, line.rstrip(b"\r\n"))


def _skip_rest(file: BinaryIO) -> None:
    """Read past the rest of the current line, one bounded chunk at a time."""
    while chunk := file.readline(_CHUNK):
        if chunk.endswith(b"\n"):
            return
