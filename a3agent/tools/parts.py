"""The text and image parts that tool results and conversation messages are made of (one of each).

An image part holds only an id (`img_0`, ...) in the conversation's `ImageStore`, never pixels, so a
part is small and JSON-able, and a tool can name any image of the conversation by that id. A tool
hands back new images as PIL images; the toolbox stores them and puts an `ImagePart` in their place.
Parts are pydantic dataclasses: `TextPart("hi")` reads as one, and the `kind` tag lets a saved
conversation read back into the right classes through a discriminated union.
"""

from __future__ import annotations

from dataclasses import field
from typing import Literal

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

__all__ = ["TextPart", "ImagePart"]

_CONFIG = ConfigDict(use_attribute_docstrings=True, extra="forbid", defer_build=True)  # built on first use


@dataclass(frozen=True, config=_CONFIG)
class TextPart:
    """Plain text in a user, assistant or tool turn."""

    kind: Literal["text"] = field(default="text", kw_only=True)
    """Tag of the discriminated union."""
    text: str
    """The text, verbatim."""


@dataclass(frozen=True, config=_CONFIG)
class ImagePart:
    """An image, by its id in the conversation's `ImageStore`."""

    kind: Literal["image"] = field(default="image", kw_only=True)
    """Tag of the discriminated union."""
    image_id: str
    """Id in the image store, e.g. `img_0`; tools take it to name the image."""
