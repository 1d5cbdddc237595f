"""A tasks file: one JSON task a line, each checked; a bad line is reported with its number and skipped.

A task line: `{"id", "prompt", "images": [paths relative to the file], "system"?, "tools"?: [names],
"expect"?: {"calls": [tool names], "answer_regex": "..."}}`. Ids are unique and file-name safe (they
name the episode's image folder). Images are not opened here: a missing or unreadable image is refused
when its episode runs, and that refusal is part of the trajectory.

Bounds: a line over `MAX_LINE_BYTES` is a bad line, read past without being held; more than
`MAX_TASKS` tasks raise `TasksFileError` (split the file); the first `MAX_REPORTED` bad lines keep
their messages, later ones are only counted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import regex
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from a3agent.collect.lines import bounded_lines
from a3agent.errors import TasksFileError

__all__ = ["MAX_LINE_BYTES", "MAX_REPORTED", "MAX_TASKS", "BadLine", "Expect", "Task", "TaskFile", "read_tasks"]

MAX_LINE_BYTES = 1 << 20
"""A task line is at most 1 MiB (a prompt of a few hundred thousand words)."""
MAX_TASKS = 100_000
"""Tasks per file; a larger set is split into several files (and output folders)."""
MAX_REPORTED = 100
"""Bad lines reported with their messages; the rest are counted."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class Expect(_Model):
    """What a good episode does; checked after the episode (`checks.py`)."""

    calls: list[str] = []
    """Tools the episode calls validly and without an error result, in this order (others may come between)."""
    answer_regex: str | None = None
    """A pattern (Python `regex` syntax) the final answer must contain."""

    @field_validator("answer_regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"answer_regex does not compile: {exc}") from None
        return pattern


class Task(_Model):
    """One task: a prompt, its images and what a good answer does."""

    id: str
    """Unique in its file; letters, digits, `.`, `_`, `-` (it names a folder)."""
    prompt: str
    """The user's message."""
    images: list[str] = []
    """Image files, relative to the tasks file (absolute paths are kept as they are)."""
    system: str | None = None
    """System prompt for this task."""
    tools: list[str] | None = None
    """Names of the tools this task may use; all of the run's tools when absent."""
    expect: Expect | None = None
    """Checks of the episode; None: nothing to check."""

    @field_validator("id")
    @classmethod
    def _file_name_safe(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("id must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value


@dataclass(frozen=True)
class BadLine:
    """A skipped line and why."""

    number: int
    message: str


@dataclass
class TaskFile:
    """The good tasks of a file, in file order, and the lines skipped."""

    path: Path
    tasks: list[Task] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    """The first `MAX_REPORTED` bad lines."""
    bad_count: int = 0
    """All bad lines, reported or not."""

    def image_paths(self, task: Task) -> list[Path]:
        """The task's images as paths, resolved against the tasks file's folder."""
        return [self.path.parent / image for image in task.images]

    def _skip(self, number: int, message: str) -> None:
        self.bad_count += 1
        if len(self.bad_lines) < MAX_REPORTED:
            self.bad_lines.append(BadLine(number, message))


def read_tasks(path: str | os.PathLike[str], tool_names: Collection[str] | None = None) -> TaskFile:
    """Read and check a tasks file; with `tool_names`, a task naming another tool is a bad line too.

    Raises `TasksFileError` when the file cannot be read or holds more than `MAX_TASKS` tasks.
    """
    found = TaskFile(Path(path))
    lines: dict[str, int] = {}
    try:
        for line in bounded_lines(found.path, MAX_LINE_BYTES):
            if line.data is None:
                found._skip(line.number, f"longer than {MAX_LINE_BYTES:,} bytes")
                continue
            task = _parse(line.data)
            problem = task if isinstance(task, str) else _conflict(task, lines, tool_names)
            if problem is not None:
                found._skip(line.number, problem)
                continue
            assert isinstance(task, Task)
            if len(found.tasks) == MAX_TASKS:
                raise TasksFileError(f"{path}: more than {MAX_TASKS:,} tasks; split it into several files")
            lines[task.id] = line.number
            found.tasks.append(task)
    except OSError as exc:
        raise TasksFileError(f"{path}: cannot be read ({exc}); check the path") from exc
    return found


def _parse(data: bytes) -> Task | str:
    """The task on a line, or what is wrong with it."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return f"not JSON ({exc})"
    try:
        return Task.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the line"
        return f"{where}: {first['msg']}"


def _conflict(task: Task, lines: dict[str, int], tool_names: Collection[str] | None) -> str | None:
    if task.id in lines:
        return f"id {task.id!r} is already used on line {lines[task.id]}"
    unknown = sorted(set(task.tools or ()) | set(task.expect.calls if task.expect else ()))
    unknown = [name for name in unknown if tool_names is not None and name not in tool_names]
    if unknown:
        known = ", ".join(sorted(tool_names or ())) or "none"
        return f"no tool named {', '.join(map(repr, unknown))}; the tools are: {known}"
    return None
