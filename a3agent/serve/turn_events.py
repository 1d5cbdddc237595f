"""The decode loop's text deltas -> the API's events: reasoning, content, and tool calls as they form.

Thinking and answer text go through the agent's `TurnSplitter` (markers count only as real special
tokens, edge whitespace held back). Each `<tool_call>` block is read as it grows: its id and name
come out as soon as the header is complete, then its arguments in fragments (hermes-json: the JSON
text as the model writes it, holding back what may turn out to be the block's closing brace;
qwen3-xml: one fragment, the arguments as JSON, once the block closes, since only then are they
JSON). At `</tool_call>` the block is read by the agent's `parse_turn`, so a call is reported
complete only when it is well formed. A streamed response and a whole one are built from the same
events, so they carry the same ids and argument strings.

Not handled here: the chunk format (`chunks.py`).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from a3agent.agent.parsing import CALL_CLOSE, CALL_OPEN, parse_turn
from a3agent.agent.streaming import TurnSplitter
from a3agent.model.decode import SpecialToken

__all__ = ["CallArguments", "CallEnd", "CallStart", "ContentDelta", "ReasoningDelta", "TurnEvent", "TurnReader"]

_HERMES_HEAD = re.compile(r'\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*')
_XML_HEAD = re.compile(r"\s*<function=([^>\n]*)>\n")
_HERMES_TAIL = re.compile(r"\}?\s*\Z")
"""What may still be the outer object's `}` and the newline before `</tool_call>`."""


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ContentDelta:
    text: str


@dataclass(frozen=True)
class CallStart:
    """A call's header is complete: its index in the turn, a fresh id, the tool's name."""

    index: int
    id: str
    name: str


@dataclass(frozen=True)
class CallArguments:
    """The next fragment of call `index`'s arguments; the fragments join to a JSON object."""

    index: int
    text: str


@dataclass(frozen=True)
class CallEnd:
    """Call `index`'s block closed; `ok` when it is well formed (a known tool, an arguments object)."""

    index: int
    ok: bool


TurnEvent = ReasoningDelta | ContentDelta | CallStart | CallArguments | CallEnd


class TurnReader:
    """Feed it the deltas of one turn; it returns the events they complete."""

    def __init__(self, thinking: bool, dialect: str, tools: Mapping[str, dict[str, Any]]) -> None:
        self.dialect, self.tools = dialect, tools
        self._splitter = TurnSplitter(thinking)
        self._block: str | None = None
        """The open call block's text; None outside a block."""
        self._calls = 0
        self._started = False
        self._sent = 0
        """Characters of the open block's arguments already sent."""

    def feed(self, delta: str) -> list[TurnEvent]:
        events: list[TurnEvent] = [
            ReasoningDelta(text) if channel == "thinking" else ContentDelta(text)
            for channel, text in self._splitter.feed(delta)
        ]
        is_marker = isinstance(delta, SpecialToken)
        if self._block is None:
            if is_marker and delta == CALL_OPEN:
                self._block, self._started, self._sent = "", False, 0
        elif is_marker and delta == CALL_CLOSE:
            events += self._close()
        elif not is_marker:
            self._block += delta
            events += self._progress()
        return events

    def _progress(self) -> list[TurnEvent]:
        assert self._block is not None
        head = (_HERMES_HEAD if self.dialect == "hermes-json" else _XML_HEAD).match(self._block)
        if head is None:
            return []
        events: list[TurnEvent] = []
        if not self._started:
            name = json.loads(head.group(1)) if self.dialect == "hermes-json" else head.group(1).strip()
            events.append(CallStart(self._calls, f"call_{secrets.token_hex(12)}", name))
            self._started = True
        if self.dialect == "hermes-json":
            arguments = self._block[head.end():]
            events += self._send(_HERMES_TAIL.sub("", arguments))
        return events

    def _close(self) -> list[TurnEvent]:
        assert self._block is not None
        pieces = [SpecialToken(CALL_OPEN), self._block, SpecialToken(CALL_CLOSE)]
        parsed = parse_turn(pieces, dialect=self.dialect, thinking=False, tools=self.tools, next_id=lambda: "")
        call = parsed.well_formed_calls[0] if parsed.well_formed_calls else None
        head = _HERMES_HEAD.match(self._block) if self.dialect == "hermes-json" else None
        events: list[TurnEvent] = []
        if call is not None and self._started and head is not None:
            events += self._send(self._block[head.end():].rstrip().removesuffix("}").rstrip())
        elif call is not None and self._started:
            events += self._send(json.dumps(call.arguments, ensure_ascii=False))
        events.append(CallEnd(self._calls, call is not None and self._started))
        self._block, self._calls = None, self._calls + 1
        return events

    def _send(self, arguments: str) -> list[TurnEvent]:
        fragment, self._sent = arguments[self._sent:], max(self._sent, len(arguments))
        return [CallArguments(self._calls, fragment)] if fragment else []
