"""The incremental matcher: one generation's position in a compiled grammar.

It is a cursor over `Grammar` configurations plus their history (for `rollback`). All the work
and all the caches live in the shared `Grammar`; a matcher is cheap to create.
"""

from __future__ import annotations

import numpy as np

from a3agent.grammars.grammar import Config, Grammar

__all__ = ["Matcher"]


class Matcher:
    """Masks, advances and forced continuations for one sequence (the decode loop's Constraint)."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self._history: list[Config] = [grammar.initial]
        self.stopped = False

    @property
    def config(self) -> Config:
        return self._history[-1]

    def mask(self) -> np.ndarray:
        """Bool array over the vocabulary: True where the token is legal next (read-only)."""
        if self.stopped:
            return np.zeros(self.grammar.vocab.size, dtype=bool)
        return self.grammar.mask(self.config)

    def advance(self, token_id: int) -> bool:
        """Take one token; False (and no change) if the grammar forbids it here."""
        if self.stopped:
            return False
        if token_id in self.grammar.stop_ids and self.grammar.vocab.token_bytes[token_id] is None:
            if not self.grammar.accepting(self.config):
                return False
            self.stopped = True
            self._history.append(self.config)
            return True
        nxt = self.grammar.advance(self.config, token_id)
        if not nxt:
            return False
        self._history.append(nxt)
        return True

    def accepting(self) -> bool:
        """True if the output so far is complete (a stop token is legal)."""
        return not self.stopped and self.grammar.accepting(self.config)

    def forced(self) -> list[int]:
        """The tokens every legal continuation starts with (empty when there is a choice)."""
        if self.stopped:
            return []
        pieces, _ = self.grammar.forced(self.config)
        return self.grammar.pieces_to_tokens(pieces)

    def completion(self) -> list[int]:
        """The shortest token sequence that finishes the output, ending with a stop token."""
        if self.stopped:
            return []
        tokens = self.grammar.pieces_to_tokens(self.grammar.completion(self.config))
        return tokens + list(self.grammar.stop_ids[:1])

    def rollback(self, n: int) -> None:
        """Undo the last `n` accepted tokens."""
        if n < 0 or n >= len(self._history):
            raise ValueError(f"cannot roll back {n} tokens: only {len(self._history) - 1} were taken")
        if n:
            del self._history[-n:]
            self.stopped = False
