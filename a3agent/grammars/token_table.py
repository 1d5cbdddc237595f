"""What every token does to one terminal automaton state, computed for the whole vocabulary at once.

For a terminal DFA in state `s`, each ordinary token either
- dies inside the terminal (illegal whatever the parser says),
- is read entirely inside it (legal with no parser question: the *inside* set), or
- passes an accepting state at byte k and has bytes left (a *split*): it is legal iff its suffix
  after k is a viable continuation once the terminal ends — the only part that needs the parser.

Splits are kept as (vocabulary row, split position) arrays sorted by the first byte of the
suffix: the parser side of a mask first asks which of those (at most 256) bytes can follow the
terminal at all, and only walks the matching ranges (`Grammar._walk_rows`). After `,` that skips
the 74k Tekken tokens that start with a space and go on with a word. The walk over the vocabulary is vectorised with numpy, one byte column at a time, over
the rows whose first byte the state allows: a few ms for a dense state (a JSON string body), well
under one for a literal. Tables are computed on first use and kept on the DFA object, which is
shared by every grammar that uses the same terminal regex.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from a3agent.grammars.automata import ByteDFA
from a3agent.grammars.vocab import Vocabulary

__all__ = ["TokenTable", "token_table"]

_DENSE = 1 / 16


@dataclass(eq=False)
class TokenTable:
    """Inside tokens (as ids, and as a bool mask when dense) and the splits by first suffix byte."""

    inside_ids: np.ndarray
    inside_mask: np.ndarray | None
    split_rows: np.ndarray
    """Vocabulary rows of split tokens, sorted by the first byte after the split."""
    split_pos: np.ndarray
    """Where each split token's suffix starts."""
    split_ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """First suffix byte -> [start, end) into the two arrays above."""

    def add_inside(self, mask: np.ndarray) -> None:
        """OR the inside tokens into `mask`."""
        if self.inside_mask is not None:
            np.logical_or(mask, self.inside_mask, out=mask)
        elif len(self.inside_ids):
            mask[self.inside_ids] = True


def _candidate_rows(vocab: Vocabulary, first: np.ndarray) -> np.ndarray:
    allowed = np.flatnonzero(first >= 0)
    starts, ends = vocab.first_byte_start[allowed], vocab.first_byte_start[allowed + 1]
    if len(allowed) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(a, b) for a, b in zip(starts, ends) if b > a] or [np.zeros(0, np.int64)])


def _compute(vocab: Vocabulary, dfa: ByteDFA, state: int) -> TokenTable:
    rows = _candidate_rows(vocab, dfa.trans[state])
    st = dfa.trans[state, vocab.matrix[rows, 0]]
    inside: list[np.ndarray] = []
    split_rows: list[np.ndarray] = []
    split_pos: list[np.ndarray] = []
    pos = 1
    while len(rows):
        lens = vocab.lengths[rows]
        longer = lens > pos
        at_split = dfa.accept[st] & longer
        if at_split.any():
            split_rows.append(rows[at_split])
            split_pos.append(np.full(int(at_split.sum()), pos))
        inside.append(rows[~longer])
        rows, st = rows[longer], st[longer]
        if not len(rows):
            break
        nxt = dfa.trans[st, vocab.matrix[rows, pos]]
        alive = nxt >= 0
        rows, st = rows[alive], nxt[alive]
        pos += 1
    inside_ids = np.sort(vocab.ids[np.concatenate(inside)]) if inside else np.zeros(0, np.int32)
    mask = None
    if len(inside_ids) > vocab.size * _DENSE:
        mask = np.zeros(vocab.size, dtype=bool)
        mask[inside_ids] = True
    if not split_rows:
        return TokenTable(inside_ids, mask, np.zeros(0, np.int64), np.zeros(0, np.int64))
    rows, pos = np.concatenate(split_rows), np.concatenate(split_pos)
    first = vocab.matrix[rows, pos]
    order = np.argsort(first, kind="stable")
    rows, pos, first = rows[order], pos[order], first[order]
    bounds = np.flatnonzero(np.diff(first)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(first)]])
    ranges = {int(first[a]): (int(a), int(b)) for a, b in zip(starts, ends)}
    return TokenTable(inside_ids, mask, rows, pos, ranges)


def token_table(vocab: Vocabulary, dfa: ByteDFA, state: int) -> TokenTable:
    """The (cached) table of `dfa` in `state` over `vocab`."""
    cache = dfa.__dict__.setdefault("_tables", {})
    key = (vocab.fingerprint, state)
    table = cache.get(key)
    if table is None:
        table = cache[key] = _compute(vocab, dfa, state)
    return table
