"""What the CLI keeps under the a3agent home (`$A3AGENT_HOME`, default `~/.cache/a3agent`).

`history` holds the REPL's input history across sessions; `sessions/<start time>/` holds the images
of one REPL session (attached ones and those tools produced), so the person can open what the
model looked at. Nothing here is read back by a3agent except the history.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from a3agent.errors import CommandLineError
from a3agent.home import a3agent_home

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["checked_home", "history_file", "SessionFolder"]


def checked_home() -> Path:
    """The a3agent home, made if missing; one that cannot be made or written is named with its origin.

    Called before a model loads, so a bad `A3AGENT_HOME` is reported as the setting it is, not as the
    OS error of whichever file happened to be written there first.
    """
    home = a3agent_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        writable = os.access(home, os.W_OK)
    except OSError as exc:
        raise CommandLineError(f"{_origin(home)}: cannot create that folder ({exc.strerror}); "
                               "set A3AGENT_HOME to a folder you can write") from None
    if not writable:
        raise CommandLineError(f"{_origin(home)}: that folder is not writable; set A3AGENT_HOME to a folder "
                               "you can write")
    return home


def _origin(home: Path) -> str:
    return f"A3AGENT_HOME={home}" if os.environ.get("A3AGENT_HOME") else f"the a3agent home {home}"


def history_file() -> Path:
    """The REPL's input history file."""
    return a3agent_home() / "history"


class SessionFolder:
    """The folder of one session's images, made when the first image is saved.

    Files are numbered in the order saved (`003-img_1.png`): after `/reset` or `/load` image ids start
    again at `img_0`, and an earlier image must not be overwritten.
    """

    def __init__(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path = a3agent_home() / "sessions" / f"{stamp}-{os.getpid()}"
        self._saved: list[tuple[Image.Image, Path]] = []

    def save_image(self, image_id: str, image: Image.Image) -> Path:
        """The file holding `image`, written on the first call for that image object; a mode PNG cannot
        hold (CMYK from the web, ...) is saved as the RGB the model is shown."""
        from a3agent.agent.conversation import png_ready  # not at import: usage errors load no agent

        for saved, file in self._saved:
            if saved is image:
                return file
        self.path.mkdir(parents=True, exist_ok=True)
        file = self.path / f"{len(self._saved):03d}-{image_id}.png"
        png_ready(image).save(file, format="PNG")
        self._saved.append((image, file))
        return file
