"""The example task set: ten image tasks for the built-in image tools, and the images they look at.

The images are drawn here with PIL from fixed shapes (no randomness, no files shipped), small detail on
purpose (labels a few pixels high) so the tasks need `crop`, `zoom`, `grid` or `image_info`; every
task offers `crop`, so a collection can name it as its tool choice;
`write_examples(folder)` writes `tasks.jsonl` and `images/*.png`. `examples/collect/tasks.jsonl` in the
repository is the same file (a test keeps them equal); its images are made by
`a3agent collect --make-examples examples/collect`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from math import cos, radians, sin
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

__all__ = ["EXAMPLE_TASKS", "IMAGES", "tasks_text", "write_examples"]

_LOOK = ["crop", "zoom", "grid", "image_info"]
EXAMPLE_TASKS: list[dict[str, Any]] = [
    {"id": "crate-fruits", "prompt": "Which fruits are in this crate? The labels are small: look closer first.",
     "images": ["images/crate.png"], "tools": _LOOK, "expect": {"calls": ["crop"], "answer_regex": "(?i)apricot"}},
    {"id": "crate-top-left", "prompt": "What does the label of the top-left fruit say?",
     "images": ["images/crate.png"], "tools": _LOOK, "expect": {"calls": ["crop"], "answer_regex": "(?i)apricot"}},
    {"id": "crate-figs", "prompt": "Put a grid on the crate, then crop the cell that holds a fig. Where is it?",
     "images": ["images/crate.png"], "tools": _LOOK, "expect": {"calls": ["grid", "crop"], "answer_regex": "(?i)fig"}},
    {"id": "clock-time", "prompt": "What time does the clock show? Zoom in on the hands.",
     "images": ["images/clock.png"], "tools": ["zoom", "crop"], "expect": {"calls": ["zoom"], "answer_regex": r"3:40|twenty to four"}},
    {"id": "chart-tallest", "prompt": "Which quarter has the tallest bar, and what value is printed on it?",
     "images": ["images/chart.png"], "tools": _LOOK, "expect": {"calls": ["crop"], "answer_regex": r"Q3\D*42"}},
    {"id": "chart-size", "prompt": "How large is this chart in pixels?",
     "images": ["images/chart.png"], "tools": ["image_info", "crop"], "expect": {"calls": ["image_info"], "answer_regex": r"640\D+400"}},
    {"id": "receipt-total", "prompt": "What is the total on this receipt?",
     "images": ["images/receipt.png"], "tools": _LOOK, "expect": {"calls": ["zoom"], "answer_regex": r"6\.75"}},
    {"id": "receipt-sum", "prompt": "Read the three prices, then check with calculate that they add up to the total.",
     "images": ["images/receipt.png"], "tools": ["crop", "calculate"],
     "expect": {"calls": ["crop", "calculate"], "answer_regex": r"6\.75"}},
    {"id": "corner-streets", "prompt": "Which two streets meet at this corner? Read the signs.",
     "images": ["images/corner.png"], "tools": _LOOK, "expect": {"calls": ["crop"], "answer_regex": "(?i)(elm.*oak|oak.*elm)"}},
    {"id": "two-images", "prompt": "One of these two images has fruit labels. What do they say?",
     "images": ["images/crate.png", "images/chart.png"], "tools": _LOOK,
     "expect": {"calls": ["crop"], "answer_regex": "(?i)apricot"}},
]  # fmt: skip
"""The tasks, as `tasks.jsonl` holds them (image paths relative to it)."""


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _crate() -> Image.Image:
    """Six fruits in a crate, each with a 9-px label: apricots, figs and a plum."""
    image = Image.new("RGB", (480, 360), (236, 228, 214))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 90, 420, 300), fill=(160, 120, 80), outline=(110, 80, 50), width=4)
    fruits = (("apricot", 130, 150, (236, 150, 60)), ("fig", 240, 150, (96, 50, 96)), ("apricot", 350, 150, (236, 150, 60)),
              ("fig", 130, 240, (96, 50, 96)), ("plum", 240, 240, (80, 40, 120)), ("apricot", 350, 240, (236, 150, 60)))
    for label, x, y, colour in fruits:
        draw.ellipse((x - 32, y - 32, x + 32, y + 32), fill=colour, outline=(60, 30, 20), width=2)
        draw.text((x, y), label, fill=(255, 255, 255), font=_font(9), anchor="mm")
    return image


def _clock() -> Image.Image:
    """A clock face at 3:40."""
    image = Image.new("RGB", (360, 360), (245, 245, 240))
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 30, 330, 330), fill=(255, 255, 255), outline=(20, 20, 20), width=6)
    for hour in range(12):
        x, y = _on_circle(180, 180, 130, hour * 30)
        draw.text((x, y), str(hour or 12), fill=(20, 20, 20), font=_font(14), anchor="mm")
    draw.line((180, 180, *_on_circle(180, 180, 70, 3 * 30 + 40 * 0.5)), fill=(20, 20, 20), width=8)
    draw.line((180, 180, *_on_circle(180, 180, 110, 40 * 6)), fill=(20, 20, 20), width=4)
    return image


def _on_circle(cx: float, cy: float, radius: float, degrees: float) -> tuple[float, float]:
    """The point at `degrees` clockwise from 12 o'clock."""
    return cx + radius * sin(radians(degrees)), cy - radius * cos(radians(degrees))


def _chart() -> Image.Image:
    """Four bars, Q1-Q4, each with its value printed small on top; Q3 (42) is the tallest."""
    image = Image.new("RGB", (640, 400), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.line((60, 350, 600, 350), fill=(0, 0, 0), width=2)
    for index, (quarter, value) in enumerate((("Q1", 27), ("Q2", 35), ("Q3", 42), ("Q4", 31))):
        left = 100 + index * 125
        top = 350 - value * 6
        draw.rectangle((left, top, left + 70, 350), fill=(70, 110, 170))
        draw.text((left + 35, top - 8), str(value), fill=(0, 0, 0), font=_font(9), anchor="mm")
        draw.text((left + 35, 368), quarter, fill=(0, 0, 0), font=_font(14), anchor="mm")
    return image


def _receipt() -> Image.Image:
    """A till receipt in 8-px type: three items and the total."""
    image = Image.new("RGB", (320, 420), (250, 250, 246))
    draw = ImageDraw.Draw(image)
    lines = ("CORNER SHOP", "", "Bread       2.40", "Milk        1.10", "Apples      3.25", "", "TOTAL       6.75")
    for row, text in enumerate(lines):
        draw.text((100, 140 + row * 14), text, fill=(30, 30, 30), font=_font(8))
    return image


def _corner() -> Image.Image:
    """A street corner: a pole with two small signs, Elm St and Oak Ave."""
    image = Image.new("RGB", (480, 360), (180, 210, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 280, 480, 360), fill=(120, 120, 120))
    draw.rectangle((236, 60, 244, 300), fill=(90, 90, 90))
    for name, top, left in (("Elm St", 70, 180), ("Oak Ave", 92, 244)):
        draw.rectangle((left, top, left + 56, top + 16), fill=(30, 120, 60))
        draw.text((left + 28, top + 8), name, fill=(255, 255, 255), font=_font(9), anchor="mm")
    return image


IMAGES: dict[str, Callable[[], Image.Image]] = {
    "crate.png": _crate, "clock.png": _clock, "chart.png": _chart, "receipt.png": _receipt, "corner.png": _corner,
}  # fmt: skip
"""Each example image's file name and the function drawing it."""


def tasks_text() -> str:
    """`tasks.jsonl` as written: one task a line."""
    return "".join(json.dumps(task) + "\n" for task in EXAMPLE_TASKS)


def write_examples(folder: str | os.PathLike[str]) -> Path:
    """Write `tasks.jsonl` and `images/` into `folder`; returns the tasks file."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for name, draw in IMAGES.items():
        draw().save(folder / "images" / name, format="PNG")
    path = folder / "tasks.jsonl"
    path.write_text(tasks_text(), encoding="utf-8")
    return path
