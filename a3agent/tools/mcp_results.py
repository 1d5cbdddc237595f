"""An MCP `CallToolResult` as a `ToolResult`: text stays text, images become images the model sees.

Text content and embedded text resources become text; image content (and embedded blob resources
with an image MIME type) are decoded under `MAX_IMAGE_PIXELS` into images that the toolbox stores
with ids like any other tool's; `isError` makes an error result. What the model cannot take (audio,
other binary resources) is named in a line of text so the model knows it was there. Structured
content stands in as JSON text only when a result has no content blocks.

Bounds, whatever the server sends: at most `MAX_BLOCKS` content blocks and `MAX_IMAGES` images are
kept, and the text at most `MAX_TEXT_CHARS`; each cut is said in the text. (The agent then caps
each text part by tokens.)
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from PIL import Image

from a3agent.errors import ImageError
from a3agent.tools.image_decoding import decode_image
from a3agent.tools.parts import TextPart
from a3agent.tools.results import ResultPart, ToolResult

__all__ = ["MAX_BLOCKS", "MAX_IMAGES", "MAX_TEXT_CHARS", "mcp_tool_result"]

MAX_BLOCKS = 256
"""Content blocks of one result that are read; the rest are dropped with a note."""
MAX_IMAGES = 8
"""Images of one result that reach the conversation; more are named, not shown."""
MAX_TEXT_CHARS = 200_000
"""Characters of text one result may hold (about 50 k tokens, far above the agent's per-result cap)."""


def mcp_tool_result(result: CallToolResult) -> ToolResult:
    """Map one result. Example: `CallToolResult(content=[TextContent(text="hi")])` -> `ToolResult([TextPart("hi")])`"""
    blocks = result.content[:MAX_BLOCKS]
    parts: list[ResultPart] = []
    for block in blocks:
        shown = sum(isinstance(part, Image.Image) for part in parts)  # ≤ MAX_BLOCKS parts
        parts.append(_part(block, images_left=MAX_IMAGES - shown))
    if len(result.content) > MAX_BLOCKS:
        parts.append(TextPart(f"[{len(result.content) - MAX_BLOCKS} more content blocks were dropped]"))
    if not blocks and result.structured_content is not None:
        parts.append(TextPart(json.dumps(result.structured_content, ensure_ascii=False)))
    return ToolResult(_capped(parts), is_error=result.is_error)


def _part(block: Any, images_left: int) -> ResultPart:
    if isinstance(block, TextContent):
        return TextPart(block.text)
    if isinstance(block, ImageContent):
        return _image(block.data, block.mime_type, "an image", images_left)
    if isinstance(block, EmbeddedResource) and isinstance(block.resource, TextResourceContents):
        return TextPart(block.resource.text)
    if isinstance(block, EmbeddedResource) and isinstance(block.resource, BlobResourceContents):
        mime = block.resource.mime_type or "application/octet-stream"
        if mime.startswith("image/"):
            return _image(block.resource.blob, mime, f"the resource {block.resource.uri}", images_left)
        return TextPart(f"[binary resource {block.resource.uri} ({mime}), not shown]")
    if isinstance(block, ResourceLink):
        return TextPart(f"[resource link: {block.uri}{f' ({block.name})' if block.name else ''}]")
    if isinstance(block, AudioContent):
        return TextPart(f"[audio ({block.mime_type}), not shown: this model takes text and images]")
    return TextPart(f"[a {getattr(block, 'type', type(block).__name__)} content block, not shown]")


def _image(data: str, mime: str, what: str, images_left: int) -> ResultPart:
    if images_left <= 0:
        return TextPart(f"[{what} ({mime}), not shown: a result shows at most {MAX_IMAGES} images]")
    try:
        return decode_image(base64.b64decode(data, validate=True), what)
    except (binascii.Error, ValueError):
        return TextPart(f"[{what} ({mime}) could not be shown: its data is not valid base64]")
    except ImageError as exc:
        return TextPart(f"[{what} ({mime}) could not be shown: {exc}]")


def _capped(parts: list[ResultPart]) -> list[ResultPart]:
    """The parts with text cut so that all of it fits in `MAX_TEXT_CHARS`."""
    left, cut = MAX_TEXT_CHARS, False
    capped: list[ResultPart] = []
    for part in parts:
        if isinstance(part, TextPart) and len(part.text) > left:
            if not cut:
                note = f"\n[cut: the result's text passed {MAX_TEXT_CHARS:,} characters]"
                capped.append(TextPart(part.text[:left] + note))
            left, cut = 0, True
            continue
        left -= len(part.text) if isinstance(part, TextPart) else 0
        capped.append(part)
    return capped
