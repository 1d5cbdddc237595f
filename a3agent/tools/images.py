"""Image tools: let the model look again, closer, at the conversation's images.

A3-Instruct names dense detail generically ("fruit salad"); cropping or zooming into a region and
handing it back as a new image fixes real answers, and a labelled grid gives the model words ("cell
C2") for places in an image. Images are named by their ids (`img_0`, ...) in the `ToolContext`'s
store; every image these tools return is stored by the toolbox under a new id that the result names.
Coordinates: when all values lie within [0, 1] they are fractions of the width and height, otherwise
pixels (so a pixel box inside the top-left 1x1 pixel cannot be written; nobody needs one).
"""

from __future__ import annotations

import math
import string
from typing import Annotated, Any

from PIL import Image, ImageDraw, ImageFont
from pydantic import Field

from a3agent.errors import ToolFailed
from a3agent.tools.context import ToolContext
from a3agent.tools.definition import tool
from a3agent.tools.image_store import ImageId

__all__ = ["crop", "zoom", "grid", "image_info"]

MAX_ZOOM = 16.0
MAX_GRID = len(string.ascii_uppercase)


@tool
def crop(
    image: ImageId, bbox: Annotated[list[float], Field(min_length=4, max_length=4)], ctx: ToolContext
) -> list[Any]:
    """Cut a rectangle out of an image and look at it at full resolution, to read small detail.

    Args:
        image: Id of the image, e.g. "img_0".
        bbox: [x0, y0, x1, y1], left-top and right-bottom corners. All values within [0, 1] are fractions
            of the width and height (e.g. [0.5, 0, 1, 0.5] is the top-right quarter); otherwise pixels.
    """
    source = ctx.images.get(image)
    x0, y0, x1, y1 = _pixel_box(bbox, source)
    return [f"Crop of {image}, pixels [{x0}, {y0}, {x1}, {y1}].", source.crop((x0, y0, x1, y1))]


@tool
def zoom(
    image: ImageId,
    center: Annotated[list[float], Field(min_length=2, max_length=2)],
    ctx: ToolContext,
    factor: float = 2.0,
) -> list[Any]:
    """Magnify the region around a point of an image, enlarged back to the image's size.

    Args:
        image: Id of the image, e.g. "img_0".
        center: [x, y] of the point to zoom into; both within [0, 1] are fractions of the width and
            height (e.g. [0.5, 0.5] is the middle), otherwise pixels.
        factor: Magnification, above 1 and at most 16; 2 shows a quarter of the image.
    """
    source = ctx.images.get(image)
    if not 1 < factor <= MAX_ZOOM:
        raise ToolFailed(f"factor {factor:g} is out of range: give a magnification above 1 and at most {MAX_ZOOM:g}")
    x, y = _pixel_point(center, source)
    width, height = max(1, round(source.width / factor)), max(1, round(source.height / factor))
    left = min(max(0, round(x - width / 2)), source.width - width)
    top = min(max(0, round(y - height / 2)), source.height - height)
    box = (left, top, left + width, top + height)
    magnified = source.crop(box).resize(source.size, Image.Resampling.LANCZOS)
    return [f"{image} zoomed {factor:g}x around pixel ({x}, {y}): pixels [{', '.join(map(str, box))}].", magnified]


@tool
def grid(image: ImageId, ctx: ToolContext, n: int = 4) -> list[Any]:
    """Overlay a labelled n x n grid on an image, to name regions ("cell B3") and to choose boxes to crop.

    Args:
        image: Id of the image, e.g. "img_0".
        n: Cells per side, 2 to 26. Columns are lettered A, B, ... from the left; rows numbered 1, 2, ...
            from the top.
    """
    source = ctx.images.get(image)
    if not 2 <= n <= MAX_GRID:
        raise ToolFailed(f"n={n} is out of range: give 2 to {MAX_GRID} cells per side")
    last = f"{string.ascii_uppercase[n - 1]}{n}"
    return [
        f"{image} with a {n}x{n} grid: cell A1 is top-left, {last} bottom-right. The cell in column k "
        f"(A=0, B=1, ...) and row r (1, 2, ...) is the box [k/{n}, (r-1)/{n}, (k+1)/{n}, r/{n}] in fractions, "
        "ready for crop.",
        _draw_grid(source, n),
    ]


@tool
def image_info(image: ImageId, ctx: ToolContext) -> dict[str, Any]:
    """Size and colour mode of an image, to plan crops in pixels.

    Args:
        image: Id of the image, e.g. "img_0".
    """
    source = ctx.images.get(image)
    return {"id": image, "width": source.width, "height": source.height, "mode": source.mode}


def _is_fraction(values: list[float]) -> bool:
    return all(0 <= value <= 1 for value in values)


def _finite(values: list[float]) -> list[float]:
    if not all(math.isfinite(value) for value in values):
        raise ToolFailed(f"{values} holds a value that is not a finite number; give pixels or fractions")
    return values


def _pixel_box(bbox: list[float], image: Image.Image) -> tuple[int, int, int, int]:
    bbox = _finite(bbox)
    scale = (image.width, image.height) * 2 if _is_fraction(bbox) else (1, 1, 1, 1)
    x0, y0, x1, y1 = (round(value * factor) for value, factor in zip(bbox, scale))
    if x1 <= x0 or y1 <= y0:
        raise ToolFailed(f"the box {bbox} is empty: x1 must be greater than x0 and y1 greater than y0")
    if x0 < 0 or y0 < 0 or x1 > image.width or y1 > image.height:
        raise ToolFailed(
            f"the box {bbox} lies outside the image, which is {image.width}x{image.height} px: give pixels "
            f"within x 0..{image.width} and y 0..{image.height}, or fractions within [0, 1]"
        )
    return x0, y0, x1, y1


def _pixel_point(point: list[float], image: Image.Image) -> tuple[int, int]:
    point = _finite(point)
    x, y = (point[0] * image.width, point[1] * image.height) if _is_fraction(point) else point
    if not (0 <= x <= image.width and 0 <= y <= image.height):
        raise ToolFailed(
            f"the point {point} lies outside the image, which is {image.width}x{image.height} px: give pixels "
            "within it, or fractions within [0, 1]"
        )
    return round(x), round(y)


def _draw_grid(source: Image.Image, n: int) -> Image.Image:
    out = source.convert("RGB")
    draw = ImageDraw.Draw(out)
    cell_w, cell_h = out.width / n, out.height / n
    line = max(1, min(out.size) // 300)
    font = ImageFont.load_default(size=max(8, min(48, round(min(cell_w, cell_h) / 4))))
    for k in range(1, n):
        draw.line([(k * cell_w, 0), (k * cell_w, out.height)], fill=(255, 0, 0), width=line)
        draw.line([(0, k * cell_h), (out.width, k * cell_h)], fill=(255, 0, 0), width=line)
    for row in range(n):
        for col in range(n):
            origin = (col * cell_w + line + 3, row * cell_h + line + 3)
            label = f"{string.ascii_uppercase[col]}{row + 1}"
            left, top, right, bottom = draw.textbbox(origin, label, font=font)
            draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(0, 0, 0))
            draw.text(origin, label, fill=(255, 255, 255), font=font)
    return out
