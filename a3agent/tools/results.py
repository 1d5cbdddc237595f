"""What a tool hands back, normalised to one shape the agent can put in front of the model.

Tools may return a str, JSON-able data (pydantic models and dataclasses included), a PIL image, an
image file path (`os.PathLike`, never a plain str: a str is text), raw image bytes, a list mixing text
and images, or a ready `ToolResult`. `to_tool_result` turns any of these into a `ToolResult`; anything
else raises `ToolFailed`, which the toolbox reports to the model. Image bytes and files are decoded
under `MAX_IMAGE_PIXELS` (`image_decoding.py`). New images stay PIL images here: the toolbox stores
them in the conversation's image store (it owns it) and puts `ImagePart`s with their ids in their place.
An iterator (a generator, `map`, `itertools.count()`) anywhere in a returned value is refused rather
than drained, since it may never end, and a value holding more than `MAX_RESULT_VALUES` is refused
rather than converted.
"""

from __future__ import annotations

import dataclasses
import os
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
import pydantic_core
from PIL import Image

from a3agent.errors import ImageError, ToolFailed
from a3agent.tools.image_decoding import decode_image
from a3agent.tools.parts import ImagePart, TextPart

__all__ = ["MAX_RESULT_VALUES", "ResultPart", "ToolResult", "to_tool_result"]

MAX_RESULT_VALUES = 100_000
"""Values (items, keys, fields, nested ones included) one returned value may hold: the model is shown
only the first few thousand tokens of a result, and converting it takes time and memory linear in this."""

ResultPart = TextPart | ImagePart | Image.Image
"""Text, an image of the conversation by id, or a new image the toolbox has yet to store."""


@dataclass
class ToolResult:
    """The outcome of one tool call, as the model will see it."""

    parts: list[ResultPart] = field(default_factory=list)
    is_error: bool = False
    """True when the call did not do its job (bad arguments, exception, timeout, denied)."""

    @classmethod
    def error(cls, message: str) -> ToolResult:
        """An error result carrying one message for the model."""
        return cls([TextPart(message)], is_error=True)

    @property
    def text(self) -> str:
        """The text parts joined by newlines (images left out)."""
        return "\n".join(part.text for part in self.parts if isinstance(part, TextPart))

    @property
    def images(self) -> list[ImagePart]:
        """The stored image parts, in order (after `Toolbox.invoke`: every image)."""
        return [part for part in self.parts if isinstance(part, ImagePart)]


def to_tool_result(value: Any) -> ToolResult:
    """Normalise whatever a tool returned.

    Example: `to_tool_result(["the crop:", image])` -> `ToolResult([TextPart("the crop:"), image])`
    """
    _check_finite(value.parts if isinstance(value, ToolResult) else value)
    if isinstance(value, ToolResult):
        return _hand_built(value)
    if isinstance(value, list) and any(_is_part(item) for item in value):
        return ToolResult([_to_part(item) for item in value])
    return ToolResult([_to_part(value)])


def _hand_built(result: ToolResult) -> ToolResult:
    """A `ToolResult` a tool built itself, with the parts the toolbox can show: str parts as text,
    anything else that is no part refused (ToolFailed), not an error deep in the agent loop."""
    if not isinstance(result.parts, (list, tuple)):
        raise ToolFailed(f"it returned a ToolResult whose parts are a {type(result.parts).__name__}, not a list")
    parts = [TextPart(part) if isinstance(part, str) else part for part in result.parts]
    odd = next((part for part in parts if not isinstance(part, (TextPart, ImagePart, Image.Image))), None)
    if odd is not None:
        raise ToolFailed(f"a part of type {type(odd).__name__} is neither text nor an image")
    if parts == result.parts and isinstance(result.is_error, bool):
        return result
    return ToolResult(parts, bool(result.is_error))


def _check_finite(value: Any) -> None:
    """Raise ToolFailed for an iterator anywhere in `value`, or past `MAX_RESULT_VALUES` values (a value
    that contains itself is one). Looks where pydantic's JSON conversion looks: collections, dataclasses
    and models."""
    todo, count = [value], 1
    while todo:
        item = todo.pop()
        if isinstance(item, Iterator):
            raise ToolFailed(f"it returned an iterator ({type(item).__name__}), which may never end; "
                             "the tool must return a list instead")
        if isinstance(item, Mapping):
            parts: list[Collection[Any]] = [item.keys(), item.values()]
        elif isinstance(item, (list, tuple, set, frozenset, deque)):
            parts = [item]
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            parts = [[getattr(item, f.name) for f in dataclasses.fields(item)]]
        elif isinstance(item, pydantic.BaseModel):
            parts = [item.__dict__.values(), (item.__pydantic_extra__ or {}).values()]
        else:
            continue
        count += sum(map(len, parts))
        if count > MAX_RESULT_VALUES:
            raise ToolFailed(f"it returned more than MAX_RESULT_VALUES={MAX_RESULT_VALUES} values (or a value "
                             "that contains itself); the tool must return less: the model is shown only the "
                             "start of a result")
        for part in parts:
            todo.extend(part)


def _is_part(value: Any) -> bool:
    return isinstance(value, (TextPart, ImagePart, Image.Image, bytes, os.PathLike))


def _to_part(value: Any) -> ResultPart:
    if isinstance(value, (TextPart, ImagePart, Image.Image)):
        return value
    if isinstance(value, str):
        return TextPart(value)
    if isinstance(value, bytes):
        return _decode_image(value, "the returned bytes")
    if isinstance(value, os.PathLike):
        return _decode_image(value, f"the file {os.fspath(value)!r}")
    try:
        return TextPart(pydantic_core.to_json(value).decode())
    except pydantic_core.PydanticSerializationError:
        raise ToolFailed(f"a value of type {type(value).__name__} is neither text, JSON-able data "
                         "nor an image") from None


def _decode_image(source: bytes | os.PathLike[str], what: str) -> Image.Image:
    try:
        return decode_image(source, what)
    except FileNotFoundError:
        raise ToolFailed(f"{what} does not exist") from None
    except ImageError as exc:
        raise ToolFailed(f"could not be read as an image: {exc}") from None
