"""The tools of one agent: registration that refuses bad tools, and invocation that never raises.

`Toolbox.invoke` is the one place a call turns into a result: look the tool up, validate the arguments,
ask for approval where the tool needs it, run it under its timeout, normalise what it returned or
raised (in its thread, under the same timeout), and put returned images in the conversation's image
store (capped at `max_pixels`, padded to at most `MAX_ASPECT`:1) with their new ids. A returned
`ImagePart` must name an image the store holds.
Whatever goes wrong on the way becomes an error `ToolResult` that tells the model what happened and
what to do; the agent loop goes on.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from PIL import Image, ImageOps

from a3agent.errors import GrammarError, ToolArgumentsError, ToolDefinitionError, ToolFailed, UnknownTool
from a3agent.tools.context import ToolContext
from a3agent.tools.definition import Tool, ToolDefinition
from a3agent.tools.execution import exception_text, run_with_timeout
from a3agent.tools.image_store import ImageStore
from a3agent.tools.parts import ImagePart, TextPart
from a3agent.tools.results import ResultPart, ToolResult, to_tool_result

__all__ = ["MAX_STORED_PIXELS", "MAX_ASPECT", "ToolCall", "Approve", "SchemaCheck", "Toolbox"]

MAX_STORED_PIXELS = 2048 * 2048
"""Images that tools return are downscaled to at most this many pixels before they are stored. Larger
than what the model is shown (`a3agent.model.images.DEFAULT_MAX_PIXELS`), so a later crop or zoom of a
stored image still finds detail."""

MAX_ASPECT = 200
"""Longest side over shortest of an image that tools return: the vision tower refuses a thinner one
(`a3agent.model.images`), which would fail the agent's next step, so it is padded to this when stored."""


@dataclass(frozen=True)
class ToolCall:
    """A request to run one tool: what `Toolbox.validate`/`invoke` and the approval callback take.

    The toolbox needs no conversation, so this carries no call id; the conversation's record of a call
    the model wrote is `a3agent.agent.messages.ToolCallPart` (with its id, JSON-tagged).
    """

    name: str
    arguments: dict[str, Any]


Approve = Callable[[ToolCall], bool | Awaitable[bool]]
"""Asked before each call of a `requires_approval` tool; True lets it run."""

SchemaCheck = Callable[[dict[str, Any]], None]
"""Raises a GrammarError for a parameters schema the grammar engine cannot compile."""


class Toolbox:
    """Tools by name, unique. Accepts `Tool`s or plain typed functions."""

    def __init__(
        self,
        tools: Iterable[Tool | Callable[..., Any]] = (),
        *,
        schema_check: SchemaCheck | None = None,
        max_pixels: int = MAX_STORED_PIXELS,
    ) -> None:
        self._tools: dict[str, Tool] = {}
        self._schema_check = schema_check
        self.max_pixels = max_pixels
        for item in tools:
            self.add(item)

    def add(self, item: Tool | Callable[..., Any]) -> Tool:
        """Register a tool (usable as a decorator); raises ToolDefinitionError for a bad one."""
        tool = item if isinstance(item, Tool) else Tool.from_function(item)
        if tool.name in self._tools:
            raise ToolDefinitionError(f"a tool named {tool.name!r} is already registered; names must be unique")
        if self._schema_check is not None:
            try:
                self._schema_check(tool.definition.parameters)
            except GrammarError as exc:
                raise ToolDefinitionError(f"tool {tool.name!r}: the grammar engine refuses its schema: {exc}") from exc
        self._tools[tool.name] = tool
        return tool

    def __getitem__(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(f"there is no tool named {name!r}; the tools are: {', '.join(self._tools)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def definitions(self) -> list[ToolDefinition]:
        return [tool.definition for tool in self._tools.values()]

    def to_openai(self) -> list[dict[str, Any]]:
        """The tools in the CONTRACTS.md form the chat template takes."""
        return [tool.definition.to_openai() for tool in self._tools.values()]

    def validate(self, call: ToolCall) -> dict[str, Any]:
        """The call's keyword arguments, validated; raises UnknownTool or ToolArgumentsError (arguments
        nested too deep to check included), or ToolDefinitionError for a schema that cannot check them."""
        return self[call.name].to_kwargs(call.arguments)

    async def invoke(
        self, call: ToolCall, ctx: ToolContext | None = None, *, approve: Approve | None = None
    ) -> ToolResult:
        """Run one call and return its result; every failure of the call is an error result, not an exception.

        Without `ctx`, a fresh context with an empty image store is used. Without an `approve` callback,
        tools that require approval are denied. An exception raised by `approve` itself propagates: it
        belongs to the application, not to the model.
        """
        ctx = ctx if ctx is not None else ToolContext()
        try:
            tool, kwargs = self[call.name], self.validate(call)
        except UnknownTool as exc:
            return ToolResult.error(f"{exc}. Call one of those tools instead.")
        except ToolArgumentsError as exc:
            return ToolResult.error(
                f"Invalid arguments for tool {call.name!r}: {exc}. Call it again with arguments that match its schema."
            )
        except Exception as exc:  # a schema validation cannot finish, e.g. a remote $ref
            return ToolResult.error(
                f"Tool {call.name!r} cannot check its arguments ({type(exc).__name__}: {exc}). "
                "The fault is in the tool's schema, not in your call; do not retry it."
            )
        if tool.requires_approval and not await _approved(approve, call):
            return ToolResult.error(
                f"The user denied the call to {call.name!r}, so it did not run. Do not retry it; "
                "go on without it or ask the user."
            )
        return await self._run(tool, kwargs | ({"ctx": ctx} if tool.takes_ctx else {}), ctx.images)

    async def _run(self, tool: Tool, kwargs: dict[str, Any], images: ImageStore) -> ToolResult:
        try:
            result = await run_with_timeout(tool.function, kwargs, tool.timeout, partial(_outcome, tool.name))
        except TimeoutError:
            return ToolResult.error(
                f"Tool {tool.name!r} did not finish within {tool.timeout:g} s and was abandoned. "
                "Try a smaller request or another approach."
            )
        except ToolFailed as exc:  # no call was started, or it raised a BaseException
            return ToolResult.error(f"Tool {tool.name!r} failed: {exc}")
        except Exception as exc:  # its thread could not be started
            return ToolResult.error(f"Tool {tool.name!r} could not run: {type(exc).__name__}: {exc}")
        try:
            return self._store_images(result, images)
        except ToolFailed as exc:
            return _unshowable(tool.name, str(exc))

    def _store_images(self, result: ToolResult, images: ImageStore) -> ToolResult:
        parts: list[ResultPart] = []
        for part in result.parts:
            if isinstance(part, Image.Image):
                image, note = _fit(part, self.max_pixels)
                image_id = images.add(image)
                parts += [TextPart(f"Image {image_id} ({image.width}x{image.height} px{note}):"), ImagePart(image_id)]
            elif isinstance(part, ImagePart) and part.image_id not in images:
                raise ToolFailed(f"it names image {part.image_id!r}, which the conversation does not hold")
            else:
                parts.append(part)
        return ToolResult(parts, result.is_error)


async def _approved(approve: Approve | None, call: ToolCall) -> bool:
    if approve is None:
        return False
    answer = approve(call)
    return bool(await answer) if inspect.isawaitable(answer) else bool(answer)


def _outcome(name: str, call: Callable[[], Any]) -> ToolResult:
    """The call's result, made in the tool's thread under its timeout: converting what it returned or
    reading what it raised runs the tool's code too (a generator, a `__str__`), which may never end."""
    try:
        value = call()
    except ToolFailed as exc:
        return ToolResult.error(f"Tool {name!r} failed: {exception_text(exc)}")
    except Exception as exc:
        return ToolResult.error(f"Tool {name!r} raised {type(exc).__name__}: {exception_text(exc)}. "
                                "Check the arguments or try another approach.")
    try:
        return to_tool_result(value)
    except Exception as exc:
        return _unshowable(name, exception_text(exc))


def _unshowable(name: str, why: str) -> ToolResult:
    return ToolResult.error(f"Tool {name!r} returned a result that cannot be shown: {why}. "
                            "The fault is in the tool, not in your call; do not retry it.")


def _fit(image: Image.Image, max_pixels: int) -> tuple[Image.Image, str]:
    """`image` downscaled so that, once padded (centred, with zeros) to at most `MAX_ASPECT`:1, it has
    at most `max_pixels`; and a note saying what was done."""
    width, height = image.size
    padded_width, padded_height = max(width, height / MAX_ASPECT), max(height, width / MAX_ASPECT)
    area, sides = padded_width * padded_height, padded_width + padded_height
    size, canvas = _scaled(width, height, min(1.0, math.sqrt(max_pixels / area)))
    if canvas[0] * canvas[1] > max_pixels:  # rounded up to the aspect bound: at most (w s + 1)(h s + 1) pixels
        size, canvas = _scaled(width, height, (math.sqrt(sides**2 + 4 * area * (max_pixels - 1)) - sides) / (2 * area))
    note = ""
    if size != image.size:
        image, note = image.resize(size, Image.Resampling.LANCZOS), f", downscaled from {width}x{height}"
    if canvas != size:
        image = ImageOps.pad(image, canvas)
        note += f", padded from {size[0]}x{size[1]} to an aspect ratio the model can view"
    return image, note


def _scaled(width: int, height: int, scale: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """The size of an image scaled by `scale`, and of the canvas that pads it to `MAX_ASPECT`:1."""
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return size, (max(size[0], -(-size[1] // MAX_ASPECT)), max(size[1], -(-size[0] // MAX_ASPECT)))
