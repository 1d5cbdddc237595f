"""What every token does to one terminal automaton state, computed for the whole vocabulary at once.

For a terminal DFA in state `s`, each ordinary token either
- dies inside the terminal (illegal whatever the parser says),
- is read entirely inside it (legal with no parser question: the *inside* set), or
- passes an accepting state at byte k and has bytes left (a *split*): it is legal iff its suffix
  after k is a viable continuation once the terminal ends — the only part that needs the parser.

Splits are kept as (vocabulary row, split position) arrays sorted by the first byte of the
suffix: the parser side of a mask first asks which of those (at most 256) bytes can follow the
terminal at all, and only walks the matching ranges (`Grammar._walk_rows`). After `,` that skips
the 74k Tekken tokens that start with a space and go on with a word.

A table is assembled from *slices*, one per first byte `b`: the fate of the tokens starting with
`b`, which depends only on the automaton reachable from `trans[s, b]`. Slices are cached by a
canonical signature of that sub-automaton, so they are shared across states and across DFAs:
the "any other key" state of a fused key terminal, a string value's body and the generic STRING
terminal all reach the same string-body automaton, and its 128k-token slices are computed once
per process. Computing a slice is a numpy walk, one byte column at a time, over the tokens that
start with `b`. Whole tables are cached the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from a3agent.grammars.engine.automata import TerminalDFA
from a3agent.grammars.engine.token_trie import sparse_walk, trie_walk
from a3agent.grammars.engine.vocab import Vocabulary

__all__ = ["SuffixPlan", "TokenTable", "token_table"]

_DENSE = 1 / 16

SuffixPlan = tuple[tuple[int, ...], tuple[bytes, ...], tuple[int, ...]]
"""Sorted split suffixes for a trie walk: bytes shared with the previous one, suffixes, token ids."""
_SLICE_CACHE_SIZE = 50_000
_TABLE_CACHE_SIZE = 1_000
_TRIE_ROWS = 20_000
"""Rows to walk beyond which the trie walk (shared prefixes stepped once) beats the row walk."""
_SPARSE_BYTES = 4
"""Live bytes out of a state up to which its table is first tried node by node."""
_SPARSE_NODES = 256
"""Trie nodes that node-by-node walk may visit before it hands the state to the numpy walks."""
_EMPTY = np.zeros(0, np.int64)


@dataclass(eq=False)
class TokenTable:
    """Inside tokens (as ids, and as a bool mask when dense) and the splits by first suffix byte."""

    inside_ids: np.ndarray
    """Ids of the inside tokens (empty when `inside_mask` holds them)."""
    inside_mask: np.ndarray | None
    split_rows: np.ndarray
    """Vocabulary rows of split tokens, sorted by the first byte after the split."""
    split_pos: np.ndarray
    """Where each split token's suffix starts."""
    split_ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    """First suffix byte -> [start, end) into the two arrays above."""

    def suffix_plan(self, byte: int, vocab: Vocabulary) -> SuffixPlan:
        """The split tokens whose suffix starts with `byte`, for a trie walk: the suffixes after
        `byte` in sorted order, how many bytes each shares with the one before, and the token
        ids (memoised)."""
        plans = self.__dict__.setdefault("_plans", {})
        plan = plans.get(byte)
        if plan is None:
            a, b = self.split_ranges[byte]
            pos = (self.split_pos[a:b] + 1).tolist()
            ids = vocab.ids[self.split_rows[a:b]].tolist()
            entries = sorted((vocab.token_bytes[t][p:], t) for t, p in zip(ids, pos))
            shared, prev = [], b""
            for suffix, _ in entries:
                k, limit = 0, min(len(prev), len(suffix))
                while k < limit and prev[k] == suffix[k]:
                    k += 1
                shared.append(k)
                prev = suffix
            plan = plans[byte] = (tuple(shared), tuple(e[0] for e in entries), tuple(e[1] for e in entries))
        return plan

    def add_inside(self, mask: np.ndarray) -> None:
        """OR the inside tokens into `mask`."""
        if self.inside_mask is not None:
            np.logical_or(mask, self.inside_mask, out=mask)
        elif len(self.inside_ids):
            mask[self.inside_ids] = True


@dataclass(eq=False)
class _Slice:
    inside: np.ndarray
    """Bool over the rows of this first byte: read entirely inside."""
    split_rows: np.ndarray
    split_pos: np.ndarray


_Cached = TypeVar("_Cached")
_SLICES: OrderedDict[tuple, _Slice] = OrderedDict()
_TABLES: OrderedDict[tuple, TokenTable] = OrderedDict()


def _remember(cache: dict[tuple, _Cached], key: tuple, value: _Cached, size: int) -> None:
    """Store; the shared (ordered) caches drop their least recently used entry when full."""
    cache[key] = value
    if isinstance(cache, OrderedDict) and len(cache) > size:
        cache.popitem(last=False)


def _walk(vocab: Vocabulary, dfa: TerminalDFA, firsts: list[int], targets: list[int]) -> list[_Slice]:
    """The slices of the tokens starting with each byte of `firsts`, run on from the matching
    state of `targets`, in one walk: over the vocabulary trie when most of it is walked, else
    row by row."""
    starts = vocab.first_byte_start
    rows = sum(int(starts[b + 1] - starts[b]) for b in firsts)
    inside, split_rows, split_pos = (_trie_walk if rows > _TRIE_ROWS else _row_walk)(vocab, dfa, firsts, targets)
    order = np.argsort(split_rows, kind="stable")
    split_rows, split_pos = split_rows[order], split_pos[order]
    out = []
    for b in firsts:
        a, z = np.searchsorted(split_rows, [starts[b], starts[b + 1]])
        out.append(_Slice(inside[starts[b] : starts[b + 1]], split_rows[a:z], split_pos[a:z]))
    return out


def _row_walk(
    vocab: Vocabulary, dfa: TerminalDFA, firsts: list[int], targets: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inside per row, split rows, split positions), one byte column at a time over the rows."""
    starts = vocab.first_byte_start
    ranges = [np.arange(starts[b], starts[b + 1], dtype=np.int64) for b in firsts]
    rows = np.concatenate(ranges)
    st = np.repeat(np.array(targets, dtype=np.int32), [len(r) for r in ranges])
    inside = np.zeros(len(vocab.ids), dtype=bool)
    split_rows: list[np.ndarray] = []
    split_pos: list[np.ndarray] = []
    pos = 1
    while len(rows):
        longer = vocab.lengths[rows] > pos
        at_split = dfa.accept[st] & longer
        if at_split.any():
            split_rows.append(rows[at_split])
            split_pos.append(np.full(int(at_split.sum()), pos))
        inside[rows[~longer]] = True
        rows, st = rows[longer], st[longer]
        if not len(rows):
            break
        dfa.ensure(st)
        nxt = dfa.trans[st, vocab.matrix[rows, pos]]
        alive = nxt >= 0
        rows, st = rows[alive], nxt[alive]
        pos += 1
    empty = np.zeros(0, np.int64)
    return (
        inside,
        np.concatenate(split_rows) if split_rows else empty,
        np.concatenate(split_pos) if split_pos else empty,
    )


def _trie_walk(
    vocab: Vocabulary, dfa: TerminalDFA, firsts: list[int], targets: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_row_walk`'s result over the vocabulary trie: each shared prefix is stepped once."""
    first = np.full(256, -1, dtype=np.int64)
    first[firsts] = targets
    return trie_walk(vocab.trie, dfa, first, len(vocab.ids))


def _compute(vocab: Vocabulary, dfa: TerminalDFA, state: int) -> TokenTable:
    row = dfa.rows[state]
    horizon = vocab.max_len
    signatures = {t: dfa.signature(t, horizon) for t in set(row) if t >= 0}
    private = dfa.__dict__.setdefault("_private_slices", OrderedDict())
    starts = vocab.first_byte_start
    found: dict[int, _Slice] = {}
    missing: list[tuple[int, int, dict, tuple]] = []
    for b, t in enumerate(row):
        if t < 0:
            continue
        digest = signatures[t]
        cache = private if digest is None else _SLICES
        key = (vocab.fingerprint, b, dfa.private_key(t, horizon) if digest is None else digest)
        hit = cache.get(key)
        if hit is None:
            missing.append((b, t, cache, key))
        else:
            found[b] = hit
    if missing:
        walked = _walk(vocab, dfa, [m[0] for m in missing], [m[1] for m in missing])
        for (b, _, cache, key), piece in zip(missing, walked):
            _remember(cache, key, piece, _SLICE_CACHE_SIZE)
            found[b] = piece
    inside = np.zeros(int(starts[256]), dtype=bool)
    for b, piece in found.items():
        inside[starts[b] : starts[b + 1]] = piece.inside
    split = [found[b] for b in sorted(found) if len(found[b].split_rows)]
    mask = None
    if np.count_nonzero(inside) > vocab.size * _DENSE:
        mask = np.append(inside, False)[vocab.row_of_id]
        inside_ids = np.zeros(0, np.int32)
    else:
        inside_ids = vocab.ids[np.flatnonzero(inside)]
    if not split:
        return _table(vocab, inside_ids, mask, _EMPTY, _EMPTY)
    rows = np.concatenate([s.split_rows for s in split])
    return _table(vocab, inside_ids, mask, rows, np.concatenate([s.split_pos for s in split]))


def _sparse_table(vocab: Vocabulary, dfa: TerminalDFA, state: int) -> TokenTable | None:
    """The table of a state that meets few trie nodes, walked node by node (None: it meets many)."""
    tree = vocab.prefix_tree
    found = sparse_walk(tree, dfa, state, _SPARSE_NODES)
    if found is None:
        return None
    ends, splits = found
    inside_ids = np.concatenate([tree.end_ids[a:b] for a, b in ends]) if ends else _EMPTY
    if not splits:
        return _table(vocab, inside_ids, None, _EMPTY, _EMPTY)
    rows = np.concatenate([tree.below_rows[a:b] for a, b, _ in splits])
    pos = np.repeat(np.array([d for _, _, d in splits], np.int64), [b - a for a, b, _ in splits])
    return _table(vocab, inside_ids, None, rows, pos)


def _table(vocab: Vocabulary, inside_ids: np.ndarray, mask: np.ndarray | None, rows: np.ndarray, pos: np.ndarray) -> TokenTable:
    """A table from its inside tokens and its splits in any order (sorted here by first suffix byte)."""
    if not len(rows):
        return TokenTable(inside_ids, mask, _EMPTY, _EMPTY)
    first = vocab.matrix[rows, pos]
    order = np.argsort(first, kind="stable")
    rows, pos, first = rows[order], pos[order], first[order]
    bounds = np.flatnonzero(np.diff(first)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(first)]])
    ranges = {int(first[a]): (int(a), int(b)) for a, b in zip(starts, ends)}
    return TokenTable(inside_ids, mask, rows, pos, ranges)


def token_table(vocab: Vocabulary, dfa: TerminalDFA, state: int) -> TokenTable:
    """The (cached) table of `dfa` in `state` over `vocab`.

    A state with few live bytes is first walked node by node (`_sparse_table`: no signature to
    compute, kept in the automaton's own cache). Otherwise, or when that walk meets too many
    nodes, the table is assembled from slices and shared by every state (of any automaton) whose
    signature within the longest token's reach is the same."""
    private = dfa.__dict__.setdefault("_private_tables", OrderedDict())
    own = (vocab.fingerprint, dfa.private_key(state, vocab.max_len))
    table = private.get(own)
    if table is not None:
        return table
    dense = dfa.__dict__.setdefault("_not_sparse", set())
    if own not in dense and len(dfa.next_bytes[state]) <= _SPARSE_BYTES:
        table = _sparse_table(vocab, dfa, state)
        if table is not None:
            _remember(private, own, table, _TABLE_CACHE_SIZE)
            return table
        dense.add(own)
    digest = dfa.signature(state, vocab.max_len)
    if digest is None:
        table = _compute(vocab, dfa, state)
        _remember(private, own, table, _TABLE_CACHE_SIZE)
        return table
    key = (vocab.fingerprint, digest)
    table = _TABLES.get(key)
    if table is None:
        table = _compute(vocab, dfa, state)
        _remember(_TABLES, key, table, _TABLE_CACHE_SIZE)
    else:
        _TABLES.move_to_end(key)
    return table
