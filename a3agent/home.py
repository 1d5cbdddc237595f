"""The a3agent home: where built artefacts are cached, and how they are built without leaving
half-written folders behind. Shared by every room (vocabulary caches, the offline tokenizer, the
tiny checkpoint, REPL history)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["a3agent_home", "build_atomically"]


def a3agent_home() -> Path:
    """Where a3agent caches what it builds: `$A3AGENT_HOME`, else `~/.cache/a3agent`."""
    return Path(os.environ.get("A3AGENT_HOME") or Path.home() / ".cache" / "a3agent")


def build_atomically(dest: Path, build: Callable[[Path], None]) -> Path:
    """Run `build(tmp)` in a temporary sibling folder, then rename it to `dest`.

    A failed or interrupted build leaves nothing at `dest`; a concurrent winner's build is kept.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        build(tmp)
        tmp.chmod(0o755)
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
