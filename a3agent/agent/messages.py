"""Typed conversation messages, their parts, and their conversion to the template's dicts.

Parts carry a `kind` tag and messages a `role` tag, so a saved conversation or a `RunResult` reads
back into the right classes through pydantic's discriminated unions. `TextPart` and `ImagePart` are
the tools' own (`a3agent.tools.parts`), so a tool result enters a message as it is; an image part
holds only an id (`img_0`, ...) and the pixels live in the tools' `ImageStore`.

Not handled here: rendering to a prompt (the model room's template), parsing model output
(`parsing.py`), files on disk (`conversation.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from a3agent.tools import ImageStore
from a3agent.tools.parts import ImagePart, TextPart

__all__ = [
    "TextPart",
    "ImagePart",
    "ThinkingPart",
    "ToolCallPart",
    "ToolResultPart",
    "UserPart",
    "AssistantPart",
    "SystemMessage",
    "UserMessage",
    "AssistantMessage",
    "ToolMessage",
    "Message",
    "to_chat",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True, extra="forbid")


# -- parts ------------------------------------------------------------------------------------


class ThinkingPart(_Model):
    """What the model wrote inside its `<think>` block."""

    kind: Literal["thinking"] = "thinking"
    """Tag of the discriminated union."""
    text: str
    """The reasoning text, without the `<think>` markers."""


class ToolCallPart(_Model):
    """One well-formed call the model made, as the conversation records it: with its id, JSON-tagged.

    Running it goes through `a3agent.tools.ToolCall` (name and arguments only): the toolbox needs no
    conversation, so it takes no call id.
    """

    kind: Literal["tool_call"] = "tool_call"
    """Tag of the discriminated union."""
    id: str
    """Call id (`call_0`, ...), unique within a conversation; the result points back to it."""
    name: str
    """Name of the tool."""
    arguments: dict[str, Any]
    """Arguments as parsed from the model's output."""


UserPart = Annotated[TextPart | ImagePart, Field(discriminator="kind")]
"""What a user turn or a tool result is made of."""


class ToolResultPart(_Model):
    """What went back to the model for one call, or for output that should have been one."""

    kind: Literal["tool_result"] = "tool_result"
    """Tag of the discriminated union."""
    call_id: str | None
    """Id of the call answered; None when the model's output was not a well-formed call."""
    name: str
    """Tool name as the model wrote it; empty when none could be read."""
    parts: list[UserPart]
    """Text and images the tool returned (or the error message)."""
    is_error: bool = False
    """True when the call failed or was refused; the text says why."""


AssistantPart = Annotated[ThinkingPart | TextPart | ToolCallPart, Field(discriminator="kind")]
"""What an assistant turn is made of."""


# -- messages ---------------------------------------------------------------------------------


class SystemMessage(_Model):
    """The system prompt; the template adds the tool definitions to it."""

    role: Literal["system"] = "system"
    """Tag of the discriminated union."""
    text: str
    """The system prompt text."""


class UserMessage(_Model):
    """A turn from the person (or the app) using the agent."""

    role: Literal["user"] = "user"
    """Tag of the discriminated union."""
    parts: list[UserPart]
    """Text and images, in prompt order."""


class AssistantMessage(_Model):
    """One generated turn: thinking, text and well-formed tool calls."""

    role: Literal["assistant"] = "assistant"
    """Tag of the discriminated union."""
    parts: list[AssistantPart]
    """Thinking, text and calls, in the order generated."""
    raw: str | None = None
    """The exact generated text after the generation prompt (special tokens kept, no stop token);
    None for a turn not generated here."""
    token_ids: list[Annotated[int, Field(ge=0, lt=2**32)]] | None = None
    """The generated token ids behind `raw`, stop token excluded. The next prompt carries exactly these
    ids, so it extends this one token for token (prefix reuse) and text the model spelled out of
    ordinary tokens never becomes structure; None for a turn not generated here. Each is below 2**32
    (tokenizers' ids are unsigned 32-bit); ids the model's vocabulary does not hold, or special tokens
    other than the think and call markers, are not carried: the turn is rendered from its parts
    (`a3agent.model.template`)."""
    think_opened: bool = True
    """Whether the generation prompt opened `<think>` for this turn (thinking on); the template renders
    the turn after that same prompt, whether or not the turn closed its think block."""

    @property
    def thinking(self) -> str:
        """All thinking text of the turn."""
        return "".join(p.text for p in self.parts if isinstance(p, ThinkingPart))

    @property
    def text(self) -> str:
        """All answer text of the turn."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def calls(self) -> list[ToolCallPart]:
        """The turn's tool calls, in order."""
        return [p for p in self.parts if isinstance(p, ToolCallPart)]


class ToolMessage(_Model):
    """The results of one assistant turn's calls; the template wraps each in `<tool_response>`."""

    role: Literal["tool"] = "tool"
    """Tag of the discriminated union."""
    results: list[ToolResultPart]
    """One result per call (or per malformed call), in call order."""


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]
"""Any conversation message."""


# -- conversion to the template's dicts (docs/CONTRACTS.md) ----------------------------------


def to_chat(
    messages: Sequence[SystemMessage | UserMessage | AssistantMessage | ToolMessage],
    images: ImageStore,
) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """The messages as template dicts, and the images in the order their parts appear."""
    chat: list[dict[str, Any]] = []
    ordered: list[Image.Image] = []
    for message in messages:
        chat.extend(_message_dicts(message, images, ordered))
    return chat, ordered


def _message_dicts(
    message: SystemMessage | UserMessage | AssistantMessage | ToolMessage,
    images: ImageStore,
    ordered: list[Image.Image],
) -> list[dict[str, Any]]:
    if isinstance(message, SystemMessage):
        return [{"role": "system", "content": message.text}]
    if isinstance(message, UserMessage):
        return [{"role": "user", "content": _content(message.parts, images, ordered)}]
    if isinstance(message, AssistantMessage):
        return [_assistant_dict(message)]
    return [
        {"role": "tool", "name": r.name, "content": _content(r.parts, images, ordered)}
        for r in message.results
    ]


def _assistant_dict(message: AssistantMessage) -> dict[str, Any]:
    calls = [
        {"type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for c in message.calls
    ]
    generated = message.raw is not None and message.token_ids is not None
    return {
        "role": "assistant",
        "content": message.text,
        "reasoning_content": message.thinking or None,
        "tool_calls": calls,
        "thinking": message.think_opened,
        "raw": message.raw if generated else None,
        "raw_ids": message.token_ids if generated else None,
    }


def _content(
    parts: Sequence[TextPart | ImagePart], images: ImageStore, ordered: list[Image.Image]
) -> str | list[dict[str, str]]:
    """A lone text part stays a string, so `"hi"` and `[TextPart("hi")]` render the same."""
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    content: list[dict[str, str]] = []
    for part in parts:
        if isinstance(part, ImagePart):
            ordered.append(images.get(part.image_id))
            content.append({"type": "image"})
        else:
            content.append({"type": "text", "text": part.text})
    return content
