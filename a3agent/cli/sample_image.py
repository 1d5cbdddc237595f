"""The demo's sample image, drawn at run time: a bowl of small labelled apricots and figs.

It is the picture A3-Instruct calls "fruit salad": the labels are a few pixels high, so reading them
needs a crop. Drawn with PIL from fixed shapes (no files shipped, no randomness), so every run shows
the same image.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

__all__ = ["fruit_bowl"]

_SIZE = (480, 360)
_APRICOT, _FIG = ((236, 150, 60), (150, 90, 40)), ((96, 50, 96), (60, 30, 60))
_FRUIT = (  # (x, y, kind) of each fruit's centre, inside the bowl
    (160, 168, "apricot"), (212, 152, "fig"), (266, 160, "apricot"), (320, 150, "fig"),
    (136, 200, "fig"), (190, 198, "apricot"), (244, 196, "fig"), (298, 194, "apricot"), (350, 190, "fig"),
)  # fmt: skip
_RADIUS = 22


def fruit_bowl() -> Image.Image:
    """A 480x360 RGB image of a bowl holding four apricots and five figs, each with a tiny label."""
    image = Image.new("RGB", _SIZE, (238, 232, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 250, _SIZE[0], _SIZE[1]), fill=(170, 130, 95))  # table
    font = ImageFont.load_default(size=9)
    for x, y, kind in sorted(_FRUIT, key=lambda fruit: fruit[1]):  # back row first
        fill, outline = _APRICOT if kind == "apricot" else _FIG
        draw.ellipse((x - _RADIUS, y - _RADIUS, x + _RADIUS, y + _RADIUS), fill=fill, outline=outline, width=2)
        draw.text((x, y), kind, fill=(255, 255, 255), font=font, anchor="mm")
    draw.chord((90, 110, 400, 320), start=0, end=180, fill=(70, 110, 160), outline=(40, 70, 110), width=3)
    return image
