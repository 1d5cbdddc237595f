"""The incremental matcher: one generation's position in a compiled grammar.

It is a cursor over `Grammar` configurations plus their history (for `rollback`), and it keeps
the think-block token count when the grammar has a `Thinking` budget. Past the budget only
`</think>` is legal — once it is legal at all: a token that ended inside a UTF-8 character
must first be finished. All the work and all the
caches live in the shared `Grammar`; a matcher is cheap to create.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from a3agent.grammars.engine.grammar import Config, Grammar
    from a3agent.grammars.engine.thinking import Thinking

__all__ = ["Matcher"]


class _Position(NamedTuple):
    config: Config
    thinking: bool
    """Still inside the think block (only with a Thinking budget)."""
    think_tokens: int
    """Non-whitespace tokens written inside the think block so far."""
    stopped: bool


class Matcher:
    """Masks, advances and forced continuations for one sequence (the decode loop's Constraint)."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        budget = grammar.thinking is not None and grammar.think_end is not None
        self._history: list[_Position] = [_Position(grammar.initial, budget, 0, False)]

    @property
    def config(self) -> Config:
        return self._history[-1].config

    @property
    def stopped(self) -> bool:
        """True once a stop token has been taken."""
        return self._history[-1].stopped

    def mask(self) -> np.ndarray:
        """Bool array over the vocabulary: True where the token is legal next (read-only)."""
        pos = self._history[-1]
        if pos.stopped:
            return np.zeros(self.grammar.vocab.size, dtype=bool)
        mask = self.grammar.mask(pos.config)
        if pos.thinking:
            budget, end = self._budget()
            if pos.think_tokens >= budget.max_tokens and mask[end]:
                only = np.zeros_like(mask)
                only[end] = True
                return only
            if pos.think_tokens < budget.min_tokens and mask[end]:
                mask = mask.copy()
                mask[end] = False
        return mask

    def advance(self, token_id: int) -> bool:
        """Take one token; False (and no change) if the grammar forbids it here, or if the id is
        not a token of the vocabulary at all (negative, too large, not an integer)."""
        pos = self._history[-1]
        grammar = self.grammar
        try:
            token_id = operator.index(token_id)
        except TypeError:
            return False
        if pos.stopped or not 0 <= token_id < grammar.vocab.size:
            return False
        if token_id in grammar.stop_ids and grammar.vocab.token_bytes[token_id] is None:
            if not grammar.accepting(pos.config):
                return False
            self._history.append(pos._replace(stopped=True))
            return True
        thinking, count = pos.thinking, pos.think_tokens
        if thinking:
            budget, end = self._budget()
            if token_id == end:
                if count < budget.min_tokens:
                    return False
                thinking = False
            elif count >= budget.max_tokens and grammar.mask(pos.config)[end]:
                return False  # over budget: only </think> (unless a character is still unfinished)
            else:
                data = grammar.vocab.token_bytes[token_id]
                count += bool(data and data.strip())
        nxt = grammar.advance(pos.config, token_id)
        if not nxt:
            return False
        self._history.append(_Position(nxt, thinking, count, False))
        return True

    def accepting(self) -> bool:
        """True if the output so far is complete (a stop token is legal)."""
        pos = self._history[-1]
        return not pos.stopped and self.grammar.accepting(pos.config)

    def forced(self) -> list[int]:
        """The tokens every legal continuation starts with (empty when there is a choice)."""
        pos = self._history[-1]
        if pos.stopped:
            return []
        if pos.thinking:
            budget, end = self._budget()
            if pos.think_tokens >= budget.max_tokens and self.grammar.mask(pos.config)[end]:
                return [end]
        return self.grammar.forced_tokens(pos.config)

    def completion(self) -> list[int]:
        """The shortest token sequence that finishes the output, ending with a stop token."""
        pos = self._history[-1]
        if pos.stopped:
            return []
        tokens = self.grammar.completion_tokens(pos.config)
        if not pos.thinking:
            return tokens
        budget, end = self._budget()
        vocab = self.grammar.vocab
        if pos.think_tokens < budget.min_tokens and end in tokens:
            # the block may not close yet: pad it with "." tokens up to min_tokens
            cut = tokens.index(end)
            written = pos.think_tokens + sum(bool((data := vocab.token_bytes[t]) and data.strip()) for t in tokens[:cut])
            filler = vocab.tokenize(b".")
            tokens = tokens[:cut] + filler * max(0, budget.min_tokens - written) + tokens[cut:]
        return tokens

    def _budget(self) -> tuple[Thinking, int]:
        """The think bounds and the `</think>` id; a position thinks only when the grammar has both."""
        thinking, end = self.grammar.thinking, self.grammar.think_end
        assert thinking is not None and end is not None, "a thinking position under a grammar without a budget"
        return thinking, end

    def rollback(self, n: int) -> None:
        """Undo the last `n` accepted tokens; ValueError (a caller's bug) if fewer were taken."""
        if not isinstance(n, int) or n < 0 or n >= len(self._history):
            raise ValueError(f"cannot roll back {n} tokens: only {len(self._history) - 1} were taken")
        if n:
            del self._history[-n:]
