"""Route streamed text deltas of one turn to thinking or answer text, hiding tool-call blocks.

Markers switch channels only when they arrive as real special tokens (`SpecialToken` deltas from the
decode loop), as `parse_turn` reads them; a marker spelled out of ordinary tokens is text. Leading and
trailing whitespace of each channel is held back, so that the deltas of a channel concatenate to
exactly what `parse_turn` reports for it.

Not handled here: reading the calls (they are parsed once the turn is complete).
"""

from __future__ import annotations

from typing import Literal

from a3agent.agent.parsing import CALL_CLOSE, CALL_OPEN, MARKERS, THINK_CLOSE, THINK_OPEN
from a3agent.model.decode import SpecialToken

__all__ = ["Channel", "TurnSplitter"]

Channel = Literal["thinking", "text"]

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
        self._started: set[str] = set()
        self._pending: dict[str, list[str]] = {"thinking": [], "text": []}
        """Whitespace held back per channel, in pieces: a long run of it costs linear time, not a
        copy of the whole run per delta."""
        self._at_start = True

    def feed(self, delta: str) -> list[tuple[Channel, str]]:
        """Take one delta; return the pieces that can be shown now."""
        out: list[tuple[Channel, str]] = []
        if isinstance(delta, SpecialToken) and delta in MARKERS:
            self._switch(delta)
        else:
            self._emit(str(delta), out)
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
        channel: Channel = "thinking" if self._state == "thinking" else "text"
        body = text.rstrip()
        if not body:  # whitespace only: held until text follows it
            self._pending[channel].append(text)
            return
        body = "".join(self._pending[channel]) + body
        self._pending[channel] = [text[len(text.rstrip()) :]]
        if channel not in self._started:
            body = body.lstrip()
        if body:
            self._started.add(channel)
            out.append((channel, body))
