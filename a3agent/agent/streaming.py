"""Route streamed text deltas of one turn to thinking or answer text, hiding tool-call blocks.

A marker (`</think>`, `<tool_call>`, ...) may arrive split over deltas when the model spells it out of
ordinary tokens, so a tail that could still grow into a marker is held back. Leading and trailing
whitespace of each channel is held back too, so that the deltas of a channel concatenate to exactly
what `parse_turn` reports for it.

Not handled here: reading the calls (they are parsed once the turn is complete).
"""

from __future__ import annotations

from typing import Literal

from a3agent.agent.parsing import CALL_CLOSE, CALL_OPEN, THINK_CLOSE, THINK_OPEN

__all__ = ["Channel", "TurnSplitter"]

Channel = Literal["thinking", "text"]

_MARKERS = (THINK_OPEN, THINK_CLOSE, CALL_OPEN, CALL_CLOSE)
_NEXT_STATE = {
    ("thinking", THINK_CLOSE): "text",
    ("thinking", CALL_OPEN): "call",
    ("text", CALL_OPEN): "call",
    ("call", CALL_CLOSE): "text",
}


class TurnSplitter:
    """Feed it deltas; it returns `(channel, text)` pieces ready to show."""

    def __init__(self, thinking: bool) -> None:
        self._state = "thinking" if thinking else "text"
        self._buffer = ""
        self._started: set[str] = set()
        self._pending = {"thinking": "", "text": ""}
        self._at_start = True

    def feed(self, delta: str) -> list[tuple[Channel, str]]:
        """Take one delta; return the pieces that can be shown now."""
        self._buffer += delta
        out: list[tuple[Channel, str]] = []
        while self._buffer:
            marker_at, marker = _first_marker(self._buffer)
            if marker is None:
                keep = _partial_marker_length(self._buffer)
                self._emit(self._buffer[: len(self._buffer) - keep], out)
                self._buffer = self._buffer[len(self._buffer) - keep :]
                break
            self._emit(self._buffer[:marker_at], out)
            self._buffer = self._buffer[marker_at + len(marker) :]
            self._switch(marker)
        return out

    def finish(self) -> list[tuple[Channel, str]]:
        """At the end of the turn: a held tail that never became a marker is text after all."""
        out: list[tuple[Channel, str]] = []
        self._emit(self._buffer, out)
        self._buffer = ""
        return out

    def _switch(self, marker: str) -> None:
        if marker == THINK_OPEN and self._state == "text" and self._at_start:
            self._state = "thinking"
        else:
            self._state = _NEXT_STATE.get((self._state, marker), self._state)

    def _emit(self, text: str, out: list[tuple[Channel, str]]) -> None:
        if not text or self._state == "call":
            return
        self._at_start = self._at_start and not text.strip()
        channel = self._state
        text = self._pending[channel] + text
        body = text.rstrip()
        self._pending[channel] = text[len(body) :]
        if channel not in self._started:
            body = body.lstrip()
        if body:
            self._started.add(channel)
            out.append((channel, body))


def _first_marker(text: str) -> tuple[int, str | None]:
    found = [(text.find(m), m) for m in _MARKERS if m in text]
    return min(found) if found else (-1, None)


def _partial_marker_length(text: str) -> int:
    """Length of the longest tail of `text` that is a proper prefix of some marker."""
    for length in range(min(len(text), max(map(len, _MARKERS)) - 1), 0, -1):
        if any(m.startswith(text[-length:]) for m in _MARKERS):
            return length
    return 0
