"""`read_text`: let the model read text files under one folder, and nothing outside it.

The path the model gives is joined to the root and resolved (`..` and symlinks included) before it is
checked, so neither `../../etc/passwd`, an absolute path elsewhere, nor a symlink pointing out of the
root gets through; the final component is opened with O_NOFOLLOW. Files are read up to a size cap and
decoded as UTF-8. Does not list folders, read binary files, or guard against the tree being changed
between the check and the open by someone else on the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from a3agent.errors import ToolDefinitionError, ToolFailed
from a3agent.tools.definition import Tool

__all__ = ["read_text_tool"]


def read_text_tool(root: str | os.PathLike[str], *, max_bytes: int = 200_000) -> Tool:
    """The `read_text` tool, confined to `root` (which must exist); files are cut at `max_bytes`."""
    base = Path(root).resolve()
    if not base.is_dir():
        raise ToolDefinitionError(f"read_text: the root {str(root)!r} is not a folder")

    def read_text(path: str) -> str:
        """Read a UTF-8 text file from the folder the user made readable.

        Args:
            path: The file's path relative to that folder, e.g. "notes/todo.txt".
        """
        return _read(base, path, max_bytes)

    return Tool.from_function(read_text)


def _read(base: Path, path: str, max_bytes: int) -> str:
    try:
        target = (base / path).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ToolFailed(f"{path!r} is not a usable path: {exc}") from None
    if not target.is_relative_to(base):
        raise ToolFailed(f"{path!r} is outside the readable folder; give a path inside it, relative to it")
    try:
        is_file = target.is_file()
    except OSError as exc:  # e.g. ENAMETOOLONG
        raise ToolFailed(f"{path!r} is not a usable path: {exc.strerror}") from None
    if not is_file:
        raise ToolFailed(f"there is no file {path!r} in the readable folder")
    try:
        with os.fdopen(os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise ToolFailed(f"cannot read {path!r}: {exc.strerror}") from None
    if b"\0" in data:
        raise ToolFailed(f"{path!r} is not a text file")
    text = data[:max_bytes].decode("utf-8", errors="replace")
    return f"{text}\n[truncated: the file exceeds {max_bytes} bytes]" if len(data) > max_bytes else text
