"""The think-block budget: at least `min_tokens` non-whitespace tokens, at most `max_tokens`.

This is the cure for A3-Instruct's empty `<think></think>`: `</think>` stays masked until the
model has written `min_tokens` tokens with visible text, and past `max_tokens` it is the only
legal token. Token counts are not a property of the bytes, so this lives beside the grammar
(in the matcher), not in it. When the decode loop's budget runs out, termination wins: the
shortest completion closes the think block even below `min_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Thinking"]


@dataclass(frozen=True)
class Thinking:
    """Bounds on the think block, in tokens."""

    min_tokens: int = 8
    """`</think>` is illegal until this many non-whitespace tokens are out."""
    max_tokens: int = 1024
    """Past this many think tokens, only `</think>` is legal."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_tokens <= self.max_tokens:
            raise ValueError(f"need 0 <= min_tokens <= max_tokens, got {self.min_tokens}, {self.max_tokens}")
