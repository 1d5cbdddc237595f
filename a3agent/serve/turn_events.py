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
    """Feed it the deltas of one turn; it returns the events they complete.

    Work per delta is bounded by the delta (and, on a delta that may complete a call's head, by the
    head), never by the whole block: a call's arguments can run to thousands of tokens.
    """

    def __init__(self, thinking: bool, dialect: str, tools: Mapping[str, dict[str, Any]]) -> None:
        self.dialect, self.tools = dialect, tools
        self._head, self._head_end = (_HERMES_HEAD, ":") if dialect == "hermes-json" else (_XML_HEAD, "\n")
        """The head's pattern and its last character: a delta without that cannot complete the head, so
        the block is matched again only on such deltas, not on every token of a long tool name."""
        self._splitter = TurnSplitter(thinking)
        self._block: list[str] | None = None
        """The open call block's text, delta by delta; None outside a block."""
        self._calls = 0
        self._started = False
        self._arguments = _ArgumentsStream()
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
                self._block, self._started, self._arguments, self._sent = [], False, _ArgumentsStream(), 0
        elif is_marker and delta == CALL_CLOSE:
            events += self._close()
        elif not is_marker:
            self._block.append(delta)
            events += self._progress(delta)
        return events

    def _progress(self, delta: str) -> list[TurnEvent]:
        assert self._block is not None
        if self._started:
            return self._send(self._arguments.feed(delta)) if self.dialect == "hermes-json" else []
        if self._head_end not in delta:
            return []
        block = "".join(self._block)
        head = self._head.match(block)
        if head is None:
            return []
        name = json.loads(head.group(1)) if self.dialect == "hermes-json" else head.group(1).strip()
        events: list[TurnEvent] = [CallStart(self._calls, f"call_{secrets.token_hex(12)}", name)]
        self._started = True
        if self.dialect == "hermes-json":
            events += self._send(self._arguments.feed(block[head.end():]))
        return events

    def _close(self) -> list[TurnEvent]:
        assert self._block is not None
        block = "".join(self._block)
        pieces = [SpecialToken(CALL_OPEN), block, SpecialToken(CALL_CLOSE)]
        parsed = parse_turn(pieces, dialect=self.dialect, thinking=False, tools=self.tools, next_id=lambda: "")
        call = parsed.well_formed_calls[0] if parsed.well_formed_calls else None
        head = _HERMES_HEAD.match(block) if self.dialect == "hermes-json" else None
        events: list[TurnEvent] = []
        if call is not None and self._started and head is not None:
            events += self._send(_without_tail(block[head.end():])[self._sent:])
        elif call is not None and self._started:
            events += self._send(json.dumps(call.arguments, ensure_ascii=False))
        events.append(CallEnd(self._calls, call is not None and self._started))
        self._block, self._calls = None, self._calls + 1
        return events

    def _send(self, fragment: str) -> list[TurnEvent]:
        self._sent += len(fragment)
        return [CallArguments(self._calls, fragment)] if fragment else []


def _without_tail(arguments: str) -> str:
    """A hermes-json block's arguments without the outer object's `}` and the whitespace around it."""
    return arguments.rstrip().removesuffix("}").rstrip()


class _ArgumentsStream:
    """A hermes-json block's arguments as they grow -> what can be sent of them now: all of
    `_without_tail(arguments)`, holding back what may still be the outer object's `}` and the
    whitespace around it (and leaving out the whitespace before the arguments, part of the head).

    Each delta is read once, and each held piece is joined once when sent and moved at most once
    before: the work is linear in the arguments, however long a run of whitespace they hold.
    """

    def __init__(self) -> None:
        self._begun = False
        self._held: list[str] = []
        """The unsent text: whitespace, then at most one `}` piece and whitespace after it."""
        self._brace: int | None = None
        """The index of the `}` piece in `_held`."""

    def feed(self, text: str) -> str:
        """Take the next text of the arguments; return the fragment that can be sent now (may be "")."""
        if not self._begun:
            text = text.lstrip()
            self._begun = bool(text)
        body = text.rstrip()
        if not body:  # whitespace only: the text to send still ends where it did
            self._held.append(text)
            return ""
        after = text[len(body):]
        if body[-1] != "}":
            sent = self._release(len(self._held)) + body
            self._held.append(after)
            return sent
        before = body[:-1]
        kept = before.rstrip()
        if kept:
            sent = self._release(len(self._held)) + kept
        elif self._brace is not None:  # only whitespace since the held `}`: that one is no tail after all
            sent = self._release(self._brace + 1)
        else:
            sent = ""
        self._held += [before[len(kept):], "}", after]
        self._brace = len(self._held) - 2
        return sent

    def _release(self, count: int) -> str:
        """The first `count` held pieces, no longer held (the `}` among them when there is one)."""
        sent = "".join(self._held[:count])
        del self._held[:count]
        self._brace = None
        return sent
