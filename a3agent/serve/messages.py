"""OpenAI chat messages -> the chat template's message dicts and the images, in prompt order.

The template (`a3agent.model.template`) takes the same dicts the agent's `to_chat` makes: an assistant
turn's `tool_calls` with their arguments as objects, `reasoning_content` for its think block, tool
results as `role: tool` turns (grouped into one `<tool_response>` user turn), images as
`{"type": "image"}` parts with the pixels beside the messages. Not handled here: tokenising
(`encode_prompt`), checking that a `tool_call_id` answers an earlier call (the template does not
use it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PIL import Image

from a3agent.serve.errors import BadRequest
from a3agent.serve.images import ImageLoader
from a3agent.serve.schema import (
    AssistantMessage,
    ImageContent,
    Message,
    SystemMessage,
    TextContent,
    ToolCall,
    ToolMessage,
)

__all__ = ["to_template_messages"]

MAX_ARGUMENTS_DEPTH = 128
"""Deepest nesting of objects and arrays in the arguments of a call sent back in the history (the
arguments object itself is level 1). Rendering the prompt walks the arguments recursively, so a deeper
value would run out of stack; 128 is as deep as the deepest schema the engine compiles
(`Limits.schema_depth`) nests its objects."""


async def to_template_messages(
    messages: Sequence[Message], loader: ImageLoader, max_images: int
) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """The template's dicts and the decoded images; raises `BadRequest` naming the offending field."""
    chat: list[dict[str, Any]] = []
    images: list[Image.Image] = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if isinstance(message, SystemMessage):
            chat.append({"role": "system", "content": _text(message.content)})
        elif isinstance(message, AssistantMessage):
            chat.append(_assistant(message, where))
        elif isinstance(message, ToolMessage):
            chat.append({"role": "tool", "content": _text(message.content)})
        else:
            content = await _user_content(message.content, loader, images, max_images, where)
            chat.append({"role": "user", "content": content})
    return chat, images


def _text(content: str | Sequence[TextContent] | None) -> str:
    return content if isinstance(content, str) else "".join(part.text for part in content or [])


def _assistant(message: AssistantMessage, where: str) -> dict[str, Any]:
    calls = [_call(call, f"{where}.tool_calls[{i}].function.arguments") for i, call in enumerate(message.tool_calls or [])]
    return {"role": "assistant", "content": _text(message.content),
            "reasoning_content": message.reasoning_content, "tool_calls": calls}


def _call(call: ToolCall, where: str) -> dict[str, Any]:
    try:
        arguments = json.loads(call.function.arguments or "{}")
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{where} is not JSON: {exc}", param=where) from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise BadRequest(f"{where} cannot be read: {exc}", param=where) from None
    except RecursionError:
        raise BadRequest(f"{where} nests deeper than {MAX_ARGUMENTS_DEPTH} levels", param=where) from None
    if not isinstance(arguments, dict):
        raise BadRequest(f"{where} must be a JSON object", param=where)
    if not _nests_within(arguments, MAX_ARGUMENTS_DEPTH):
        raise BadRequest(f"{where} nests deeper than {MAX_ARGUMENTS_DEPTH} levels", param=where)
    return {"type": "function", "function": {"name": call.function.name, "arguments": arguments}}


def _nests_within(value: dict[str, Any], limit: int) -> bool:
    """Whether `value` nests objects and arrays at most `limit` levels deep, found without recursion."""
    todo: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while todo:
        container, depth = todo.pop()
        if depth > limit:
            return False
        items = container.values() if isinstance(container, dict) else container
        todo.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return True


async def _user_content(
    content: str | Sequence[TextContent | ImageContent],
    loader: ImageLoader,
    images: list[Image.Image],
    max_images: int,
    where: str,
) -> str | list[dict[str, str]]:
    """A string stays a string; parts become text and image parts, each image loaded in order."""
    if isinstance(content, str):
        return content
    parts: list[dict[str, str]] = []
    for index, part in enumerate(content):
        if isinstance(part, TextContent):
            parts.append({"type": "text", "text": part.text})
            continue
        param = f"{where}.content[{index}].image_url"
        if len(images) >= max_images:
            raise BadRequest(f"a request may carry at most {max_images} images", param=param)
        pixels_left = loader.options.max_request_pixels - sum(image.width * image.height for image in images)
        images.append(await loader.load(part.image_url.url, param, pixels_left))
        parts.append({"type": "image"})
    return parts
