"""Turn events -> OpenAI's response objects: `chat.completion.chunk`s for a stream, one `chat.completion`.

A stream opens with the assistant role, then one chunk per event (`reasoning_content` or `content`
deltas; a call's `id`, `type` and `name` with empty arguments, then `arguments` fragments under its
index), a last chunk with an empty delta and the `finish_reason`, and, when the request asked for
`stream_options.include_usage`, a chunk with no choices and the usage. A whole response collects the
same events, so both carry the same ids and argument strings.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from a3agent.serve.turn_events import (
    CallArguments,
    CallEnd,
    CallStart,
    ContentDelta,
    ReasoningDelta,
    TurnEvent,
)
from a3agent.serve.worker import TurnEnd

__all__ = ["Completion", "ResponseIds", "event_delta"]


@dataclass(frozen=True)
class ResponseIds:
    """What every chunk of one response repeats."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{secrets.token_hex(12)}")
    created: int = field(default_factory=lambda: int(time.time()))

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        """One `chat.completion.chunk` with a single choice."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self.head("chat.completion.chunk"), "choices": [choice]}

    def usage_chunk(self, usage: dict[str, Any]) -> dict[str, Any]:
        """The chunk `stream_options.include_usage` asks for: no choices, the usage."""
        return {**self.head("chat.completion.chunk"), "choices": [], "usage": usage}

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}


def event_delta(event: TurnEvent) -> dict[str, Any] | None:
    """The chunk delta for one event; None for an event a stream does not show (a call's end)."""
    if isinstance(event, ReasoningDelta):
        return {"reasoning_content": event.text}
    if isinstance(event, ContentDelta):
        return {"content": event.text}
    if isinstance(event, CallStart):
        call = {"index": event.index, "id": event.id, "type": "function",
                "function": {"name": event.name, "arguments": ""}}
        return {"tool_calls": [call]}
    if isinstance(event, CallArguments):
        return {"tool_calls": [{"index": event.index, "function": {"arguments": event.text}}]}
    return None


class Completion:
    """Collects one turn's events into a whole `chat.completion`."""

    def __init__(self, ids: ResponseIds) -> None:
        self.ids = ids
        self.reasoning: list[str] = []
        self.content: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.complete: set[int] = set()
        self.end: TurnEnd | None = None

    def add(self, event: TurnEvent | TurnEnd) -> None:
        if isinstance(event, ReasoningDelta):
            self.reasoning.append(event.text)
        elif isinstance(event, ContentDelta):
            self.content.append(event.text)
        elif isinstance(event, CallStart):
            self.calls[event.index] = {"id": event.id, "type": "function",
                                       "function": {"name": event.name, "arguments": ""}}
        elif isinstance(event, CallArguments):
            self.calls[event.index]["function"]["arguments"] += event.text
        elif isinstance(event, CallEnd):
            if event.ok:
                self.complete.add(event.index)
        else:
            self.end = event

    def body(self) -> dict[str, Any]:
        """The response object; only well-formed calls are in `tool_calls`."""
        assert self.end is not None, "a completion is built after its turn ended"
        calls = [call for index, call in sorted(self.calls.items()) if index in self.complete]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.content) if self.content or not calls else None,
            "reasoning_content": "".join(self.reasoning) or None,
            "tool_calls": calls or None,
        }
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self.end.finish_reason}
        return {**self.ids.head("chat.completion"), "choices": [choice], "usage": self.end.usage}
