"""Images cannot take gigabytes: the declared size is checked before decoding wherever an image enters.

Each case runs in a fresh interpreter and reports how far its peak RSS grew (`resource`), against the
documented bound (README, Limits): one decoded image holds at most MAX_IMAGE_PIXELS x 4 bytes (134 MB),
and crop, zoom or grid on such an image takes at most three times that. The PNGs
declare 13000x13000 RGBA (676 MB decoded) and 9000x9000 RGB (243 MB) in under 700 KB.
"""

import asyncio
import io
import math

import pytest
from PIL import Image
from tools_hardening_support import peak_rss_growth_mb, png_of_zeros

from a3agent.errors import ImageError, ImageTooLarge
from a3agent.tools import ImageStore, Toolbox, ToolCall, ToolContext, crop, tool, zoom
from a3agent.tools.image_decoding import MAX_IMAGE_PIXELS, decode_image
from a3agent.tools.toolbox import MAX_ASPECT, MAX_STORED_PIXELS

BOUND_MB = MAX_IMAGE_PIXELS * 4 / 2**20 + 16  # one decoded image, plus slack for the allocator


def test_a_png_declaring_more_pixels_than_the_limit_is_refused_from_its_header():
    data = png_of_zeros(9000, 9000, channels=3)
    with pytest.raises(ImageTooLarge, match="declares 9000x9000 = 81000000 pixels, over the 33554432-pixel limit"):
        decode_image(data, "big.png")


def test_an_image_at_the_limit_decodes_and_bytes_that_are_no_image_are_an_image_error():
    side = math.isqrt(MAX_IMAGE_PIXELS)
    assert decode_image(png_of_zeros(side, side, channels=1), "edge.png").size == (side, side)
    with pytest.raises(ImageError, match="junk: not a readable image") as caught:
        decode_image(b"\x89PNG junk", "junk")
    assert not isinstance(caught.value, ImageTooLarge)


def test_tool_results_from_a_png_bomb_stay_under_the_memory_bound():
    grew, out = peak_rss_growth_mb(
        """
        import asyncio
        from a3agent.tools import Toolbox, ToolCall, tool
        data = png_of_zeros(13000, 13000)

        @tool
        def picture() -> bytes:
            '''A picture.'''
            return data

        box = Toolbox([picture])
        """,
        "out['text'] = asyncio.run(box.invoke(ToolCall('picture', {}))).text",
    )
    assert "declares 13000x13000" in out["text"] and grew < BOUND_MB, (grew, out)


def test_load_image_of_a_png_bomb_stays_under_the_memory_bound():
    grew, out = peak_rss_growth_mb(
        """
        from a3agent.errors import ImageTooLarge
        from a3agent.model.images import load_image
        data = png_of_zeros(9000, 9000, channels=3)
        """,
        """
        try:
            load_image(data)
        except ImageTooLarge as exc:
            out['error'] = str(exc)
        """,
    )
    assert "over the 33554432-pixel limit" in out["error"] and grew < BOUND_MB, (grew, out)


def test_a_conversation_file_holding_a_png_bomb_stays_under_the_memory_bound(tmp_path):
    (tmp_path / "chat.images").mkdir()
    (tmp_path / "chat.images" / "img_0.png").write_bytes(png_of_zeros(13000, 13000))
    (tmp_path / "chat.jsonl").write_text('{"format": "a3agent-conversation", "version": 1, "images": 1}\n')
    grew, out = peak_rss_growth_mb(
        "from a3agent.agent.conversation import Conversation\nfrom a3agent.errors import ConversationFileError",
        f"""
        try:
            Conversation.load({str(tmp_path / "chat.jsonl")!r})
        except ConversationFileError as exc:
            out['error'] = str(exc)
        """,
    )
    assert "over the 33554432-pixel limit" in out["error"] and grew < BOUND_MB, (grew, out)


def test_a_large_jpeg_is_decoded_reduced_under_the_memory_bound():
    grew, out = peak_rss_growth_mb(
        """
        import io
        from PIL import Image
        from a3agent.model.images import load_image
        buffer = io.BytesIO()
        Image.new("L", (12000, 9000), 90).save(buffer, format="JPEG")
        data = buffer.getvalue()
        """,
        "image = load_image(data); out['size'] = image.size; out['pixel'] = image.getpixel((5, 5))",
    )
    assert out["size"] == [6000, 4500] and out["pixel"] == [90, 90, 90]  # drafted at 1/2, then made RGB
    assert grew < BOUND_MB, grew


def test_a_large_jpeg_2000_is_decoded_at_a_reduced_resolution_level_under_the_memory_bound():
    grew, out = peak_rss_growth_mb(
        """
        import io
        from PIL import Image
        from a3agent.tools.image_decoding import decode_image
        buffer = io.BytesIO()
        Image.new("L", (8000, 5000), 90).save(buffer, format="JPEG2000", irreversible=True)
        data = buffer.getvalue()
        """,
        "image = decode_image(data, 'big.jp2'); out['size'] = image.size; out['pixel'] = image.getpixel((5, 5))",
    )
    assert out["size"] == [4000, 2500] and out["pixel"] == 90  # one level dropped: a quarter of the pixels
    assert grew < BOUND_MB, grew


@pytest.mark.parametrize(("name", "arguments"), [
    ("zoom", {"center": [0.5, 0.5]}), ("crop", {"bbox": [0, 0, 1, 1]}), ("grid", {}),
])
@pytest.mark.parametrize("channels", [3, 4])
def test_image_tools_on_the_largest_image_that_can_enter_stay_under_three_times_the_bound(name, arguments, channels):
    # the README's bound: the tool's full-size result, and for RGBA the toolbox's premultiplied copy
    # while it downscales that result to MAX_STORED_PIXELS
    grew, out = peak_rss_growth_mb(
        f"""
        import asyncio, math
        from a3agent.tools import Toolbox, ToolCall, ToolContext, crop, grid, zoom
        from a3agent.tools.image_decoding import MAX_IMAGE_PIXELS, decode_image
        side = math.isqrt(MAX_IMAGE_PIXELS)
        ctx = ToolContext()
        ctx.images.add(decode_image(png_of_zeros(side, side, channels={channels}), "edge.png"))
        box = Toolbox([crop, grid, zoom])
        """,
        f"out['text'] = asyncio.run(box.invoke(ToolCall({name!r}, {{'image': 'img_0', **{arguments!r}}}), ctx)).text",
    )
    assert "2048x2048 px, downscaled from 5792x5792" in out["text"] and grew < 3 * BOUND_MB, (grew, out)


@pytest.mark.parametrize("bbox", [[math.nan, 0, 1, 1], [0, 0, math.inf, 1], [-math.inf, 0, 1, 1]])
def test_a_crop_box_that_is_not_finite_is_an_error_result(bbox):
    box = Toolbox([crop, zoom])
    ctx = ToolContext(ImageStore([Image.new("RGB", (10, 10))]))
    result = asyncio.run(box.invoke(ToolCall("crop", {"image": "img_0", "bbox": bbox}), ctx))
    assert result.is_error and "not a finite number" in result.text
    center = [next(value for value in bbox if not math.isfinite(value)), 0.5]
    result = asyncio.run(box.invoke(ToolCall("zoom", {"image": "img_0", "center": center}), ctx))
    assert result.is_error and "not a finite number" in result.text


def test_returned_image_bytes_that_are_no_image_are_an_error_result():
    @tool
    def broken() -> bytes:
        """Bytes."""
        return b"GIF89a" + bytes(10)

    result = asyncio.run(Toolbox([broken]).invoke(ToolCall("broken", {})))
    assert result.is_error and "could not be read as an image" in result.text


def test_a_small_image_round_trips_unchanged():
    buffer = io.BytesIO()
    Image.new("RGB", (7, 5), (1, 2, 3)).save(buffer, format="PNG")
    image = decode_image(buffer.getvalue(), "small.png")
    assert image.size == (7, 5) and image.getpixel((6, 4)) == (1, 2, 3)


@pytest.mark.parametrize(("size", "note"), [
    ((1, 300), "(2x300 px, padded from 1x300 to an aspect ratio the model can view)"),
    ((300, 1), "(300x2 px, padded from 300x1"),
    ((1, 32 * 2**20), "(145x28862 px, downscaled from 1x33554432, padded from 1x28862"),
])
def test_a_returned_image_too_thin_for_the_vision_tower_is_stored_padded_within_the_pixel_cap(size, note):
    # a 1x300 image was stored as it came and failed the agent's next step ("aspect ratio under 200:1");
    # a 1x33554432 one was stored at 1x11863283, 2.8 times MAX_STORED_PIXELS
    from a3agent.model.images import image_processor, process_image
    from a3agent.model.tiny import tiny_config

    data = png_of_zeros(*size, channels=1)

    @tool
    def thin() -> bytes:
        """A thin image."""
        return data

    ctx = ToolContext()
    result = asyncio.run(Toolbox([thin]).invoke(ToolCall("thin", {}), ctx))
    stored = ctx.images.get("img_0")
    assert note in result.text and stored.width * stored.height <= MAX_STORED_PIXELS
    assert max(stored.size) <= MAX_ASPECT * min(stored.size)
    process_image(image_processor(tiny_config().vision_config), stored)  # what the next step does with it
