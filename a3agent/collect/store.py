"""The output folder of `collect`: `trajectories.jsonl` (one episode a line) and `images/`.

Appending is the only write: each finished episode's images are saved, then its line is appended and
fsynced, so an interrupted collection (Ctrl-C, a crash, a power cut) loses at most the episode in flight.
A last line left without its newline by such an interruption is cut off before the next append.
Reading is line by line under `MAX_EPISODE_BYTES` a line, so memory holds one episode at a time.

Not handled here: two collections writing one folder at once (run them into separate folders).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from a3agent.agent.conversation import png_ready
from a3agent.collect.lines import bounded_lines
from a3agent.collect.trajectory import Episode, EpisodeKey
from a3agent.errors import TrajectoryFileError
from a3agent.tools import ImageStore

__all__ = ["MAX_EPISODE_BYTES", "TRAJECTORIES", "TrajectoryStore"]

MAX_EPISODE_BYTES = 64 << 20
"""An episode line is at most 64 MiB (images are files, so this is text and token ids)."""
TRAJECTORIES = "trajectories.jsonl"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class TrajectoryStore:
    """An output folder: read its episodes, append new ones."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / TRAJECTORIES

    def episodes(self) -> Iterator[Episode]:
        """Every episode in file order; a line that is not one raises `TrajectoryFileError`."""
        if not self.path.is_file():
            raise TrajectoryFileError(f"{self.path}: no such file; run `a3agent collect TASKS --out {self.folder}` "
                                      "first")
        try:
            for line in bounded_lines(self.path, MAX_EPISODE_BYTES):
                yield _episode(self.path, line.number, line.data)
        except OSError as exc:
            raise TrajectoryFileError(f"{self.path}: cannot be read ({exc})") from exc

    def finished(self) -> set[EpisodeKey]:
        """The keys of the episodes already written (none when the file does not exist yet)."""
        if not self.path.exists():
            return set()
        self._cut_partial_line()
        return {episode.key for episode in self.episodes()}

    def save_images(self, episode_name: str, model: str, images: ImageStore) -> dict[str, str]:
        """Save an episode's images as PNG under `images/MODEL/EPISODE/`; id -> path relative to the folder."""
        relative = Path("images") / _slug(model) / episode_name
        if len(images):
            (self.folder / relative).mkdir(parents=True, exist_ok=True)
        files = {}
        for image_id in images.ids():
            png_ready(images.get(image_id)).save(self.folder / relative / f"{image_id}.png", format="PNG")
            files[image_id] = (relative / f"{image_id}.png").as_posix()
        return files

    def append(self, episode: Episode) -> None:
        """Append one episode's line and fsync it: once this returns, the episode survives a crash."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as file:
            file.write(episode.model_dump_json().encode("utf-8") + b"\n")
            file.flush()
            os.fsync(file.fileno())

    def _cut_partial_line(self) -> None:
        """Drop a last line an interruption left without its newline (its episode never finished)."""
        with self.path.open("rb+") as file:
            size = file.seek(0, os.SEEK_END)
            if size == 0:
                return
            file.seek(size - 1)
            if file.read(1) == b"\n":
                return
            keep = _last_newline_end(file, size)
            file.truncate(keep)


def _last_newline_end(file: BinaryIO, size: int) -> int:
    """The offset just past the last newline before `size`, reading backwards in 64 KiB blocks (so the
    cost is the partial line's length, whatever the file's)."""
    end = size
    while end > 0:
        start = max(0, end - (64 << 10))
        file.seek(start)
        at = file.read(end - start).rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


def _episode(path: Path, number: int, data: bytes | None) -> Episode:
    if data is None:
        raise TrajectoryFileError(f"{path}, line {number}: longer than {MAX_EPISODE_BYTES:,} bytes; "
                                  "not written by a3agent collect")
    try:
        return Episode.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise TrajectoryFileError(f"{path}, line {number}: not an episode ({where}: {first['msg']}); "
                                  "fix or delete that line") from None


def _slug(model: str) -> str:
    """A folder name for a model spec. Example: `_slug("scripted:image_drift")` -> 'scripted_image_drift-ed3e60'"""
    digest = hashlib.sha256(model.encode("utf-8")).hexdigest()[:6]
    return f"{_UNSAFE.sub('_', model).strip('_')[:64]}-{digest}"
