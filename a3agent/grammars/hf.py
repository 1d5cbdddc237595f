"""A transformers `LogitsProcessor` that applies a grammar's masks inside `generate()`.

For people who already call `model.generate()`: one matcher per batch row, advanced with the
token each row took at the previous step. Rows that finish (stop token taken) get only the pad/stop
token from then on, so the batch can run to its longest member. Our own decode loop
(`a3agent.model.decode`) does more — forced continuations in one forward pass, the termination
guarantee — and is what the agent uses.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from a3agent.grammars.engine.grammar import Grammar
from a3agent.grammars.engine.matcher import Matcher

__all__ = ["GrammarLogitsProcessor"]


class GrammarLogitsProcessor(LogitsProcessor):
    """Masks disallowed tokens to -inf; `matchers[i]` follows batch row i.

    Example: `model.generate(**inputs, logits_processor=[GrammarLogitsProcessor(grammar)])`.
    """

    def __init__(self, grammar: Grammar) -> None:
        self.grammar = grammar
        self.matchers: list[Matcher] = []
        self._prompt_len: int | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self._prompt_len is None:
            self._prompt_len = input_ids.shape[1]
            self.matchers = [self.grammar.matcher() for _ in range(input_ids.shape[0])]
        elif input_ids.shape[1] > self._prompt_len:
            for row, matcher in enumerate(self.matchers):
                if not matcher.stopped:
                    token = int(input_ids[row, -1])
                    if not matcher.advance(token):
                        raise ValueError(f"row {row}: token {token} was sampled outside the grammar's mask")
        allowed = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
        stop = self.grammar.stop_ids[0] if self.grammar.stop_ids else None
        for row, matcher in enumerate(self.matchers):
            if matcher.stopped:
                if stop is not None:
                    allowed[row, stop] = True
                continue
            mask = torch.tensor(matcher.mask())  # a copy: cached masks are read-only
            width = min(mask.shape[0], scores.shape[1])
            allowed[row, :width] = mask[:width].to(scores.device)
        return scores.masked_fill(~allowed, float("-inf"))
