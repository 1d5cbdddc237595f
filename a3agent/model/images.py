"""Images in, patches out: reading images and turning them into the vision tower's inputs.

Sizes come from the model's `vision_config` (as in artemis-vlm's own processor), so the number of
`<|image_pad|>` tokens can never drift from the number of features the model produces. Images over the
processor's pixel cap are scaled down, never refused; encoded images are first decoded under the one
decoding limit, `a3agent.tools.image_decoding.MAX_IMAGE_PIXELS` (a JPEG over it is decoded reduced,
anything else over it refused with `ImageTooLarge`). It does not handle video.
"""

from __future__ import annotations

import os

import torch
from PIL import Image, ImageOps
from transformers import PretrainedConfig, Qwen2VLImageProcessorPil

from a3agent.errors import ImageError, ImageTooLarge
from a3agent.tools.image_decoding import decode_image

__all__ = ["DEFAULT_MAX_PIXELS", "ImageInput", "image_processor", "load_image", "process_image"]

DEFAULT_MAX_PIXELS = 512 * 512
"""The A-series default cap: at most 256 image tokens per image."""

_MIN_PIXELS = 32 * 32
_MAX_ASPECT = 200

ImageInput = Image.Image | str | os.PathLike[str] | bytes
"""What callers may pass as an image: a PIL image, a file path, or encoded bytes (PNG, JPEG, ...)."""


def image_processor(vision_config: PretrainedConfig, max_pixels: int = DEFAULT_MAX_PIXELS) -> Qwen2VLImageProcessorPil:
    """The Qwen2-VL processor sized like artemis-vlm's: patch, temporal patch and merge from the model."""
    return Qwen2VLImageProcessorPil(
        patch_size=vision_config.patch_size,
        temporal_patch_size=vision_config.temporal_patch_size,
        merge_size=vision_config.spatial_merge_size,
        min_pixels=_MIN_PIXELS,
        max_pixels=max_pixels,
    )


def load_image(source: ImageInput) -> Image.Image:
    """A decoded RGB image, upright per its EXIF orientation; `ImageError` (`ImageTooLarge`) if it cannot be read."""
    if isinstance(source, Image.Image):
        return _to_rgb(source)
    name = "image bytes" if isinstance(source, bytes) else str(source)
    try:
        image = decode_image(source, name)
    except FileNotFoundError as exc:
        raise ImageError(f"{name}: no such file; check the path") from exc
    except ImageError as exc:
        if isinstance(exc, ImageTooLarge):
            raise
        raise ImageError(f"{exc}; pass a PNG, JPEG, WebP or GIF file, its bytes, or a PIL image") from exc
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except Exception as exc:  # a corrupt EXIF block: OSError, ValueError, SyntaxError, struct.error, ...
        raise ImageError(f"{name}: its EXIF data cannot be read ({type(exc).__name__}: {exc})") from exc
    return _to_rgb(image)


def process_image(processor: Qwen2VLImageProcessorPil, image: ImageInput) -> tuple[torch.Tensor, torch.Tensor]:
    """`(pixel_values, image_grid_thw)` for one image; grid shape (1, 3) = temporal, height, width patches."""
    image = load_image(image)
    width, height = image.size
    if max(width, height) > _MAX_ASPECT * min(width, height):
        raise ImageError(
            f"image is {width}x{height}: the vision tower needs an aspect ratio under {_MAX_ASPECT}:1; "
            "crop or pad it first"
        )
    batch = processor(images=[image], return_tensors="pt")
    return batch["pixel_values"], batch["image_grid_thw"]


def _to_rgb(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGB" else image.convert("RGB")
