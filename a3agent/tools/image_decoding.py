"""Decode an untrusted image without letting the size its header declares take the memory.

A 600 KB PNG can declare 13000x13000 pixels, 676 MB once decoded, and Pillow only warns below 179 M
pixels. So every image that enters a3agent from bytes or a file (user images, saved conversations,
`http_get`, tool results) goes through `decode_image`: it reads the header, decodes a JPEG at 1/2,
1/4 or 1/8 scale (`draft`) or a JPEG 2000 at a reduced resolution level (`reduce`) when that brings
it under `MAX_IMAGE_PIXELS`, and refuses anything else over the limit before a pixel is decoded. A
decoded image thus holds at most `MAX_IMAGE_PIXELS` x 4 bytes (134 MB). Only the first frame of an
animation is decoded. Images already in memory (PIL images handed over by callers) are not checked.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from PIL import Image, Jpeg2KImagePlugin

from a3agent.errors import ImageError, ImageTooLarge

__all__ = ["MAX_IMAGE_PIXELS", "decode_image"]

MAX_IMAGE_PIXELS = 32 * 2**20
"""The most pixels an image may decode to (33.5 M; an 8K 7680x4320 screenshot fits), ≤ 4 bytes each."""

_DRAFT_SCALES = (2, 4, 8)


def decode_image(source: bytes | str | os.PathLike[str], name: str) -> Image.Image:
    """The first frame of an encoded image, decoded and detached from its file; `name` labels errors.

    Raises `ImageTooLarge` over the limit and `ImageError` for anything Pillow cannot read; a missing
    file raises `FileNotFoundError` as it is, for the caller to word.
    """
    try:
        with _open(source) as file:
            image = Image.open(file)
            _reduce_to_fit(image, name)
            image.load()
    except (FileNotFoundError, ImageTooLarge):
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{name}: {exc}; the limit is {MAX_IMAGE_PIXELS} pixels") from exc
    except Exception as exc:  # Pillow's plugins raise OSError, ValueError, SyntaxError, struct.error, ...
        raise ImageError(f"{name}: not a readable image ({type(exc).__name__}: {exc})") from exc
    return image


def _open(source: bytes | str | os.PathLike[str]) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115


def _reduce_to_fit(image: Image.Image, name: str) -> None:
    """Shrink what `load` will decode to at most MAX_IMAGE_PIXELS, or raise ImageTooLarge."""
    width, height = image.size
    if width * height <= MAX_IMAGE_PIXELS:
        return
    scale = next((s for s in _DRAFT_SCALES if -(-width // s) * -(-height // s) <= MAX_IMAGE_PIXELS), None)
    if scale is not None and image.format == "JPEG":
        image.draft(image.mode, (-(-width // scale), -(-height // scale)))  # picks exactly this scale
    elif scale is not None and isinstance(image, Jpeg2KImagePlugin.Jpeg2KImageFile):
        image.reduce = scale.bit_length() - 1  # resolution levels to drop; Pillow resizes on load
        return
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise ImageTooLarge(
            f"{name}: {image.format or 'the'} image declares {width}x{height} = {width * height} pixels, over the "
            f"{MAX_IMAGE_PIXELS}-pixel limit, and cannot be decoded reduced to fit; scale it down first"
        )
