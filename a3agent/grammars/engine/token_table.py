"""What every token does to one terminal automaton state, computed for the whole vocabulary at once.

For a terminal DFA in state `s`, each ordinary token either
- dies inside the terminal (illegal whatever the parser says),
- is read entirely inside it (legal with no parser question: the *inside* set), or
- passes an accepting state at byte k and has bytes left (a *split*): it is legal iff its suffix
  after k is a viable continuation once the terminal ends — the only part that needs the parser.

Splits are kept as (vocabulary row, split position) arrays sorted by the first byte of the
suffix: the parser side of a mask first asks which of those (at most 256) bytes can start a
terminal it takes next, and only those ranges go on. After `,` that skips the 74k Tekken tokens
that start with a space and go on with a word. What a range of suffixes does inside the next
terminal is again a table over those rows alone, a *suffix table* (`suffix_table`): no parser
question either, so shared by every grammar.

A table is assembled from *slices*, one per first byte `b`: the fate of the tokens starting with
`b`, which depends only on the automaton reachable from `trans[s, b]`. Slices are cached by a
canonical signature of that sub-automaton, so they are shared across states and across DFAs:
the "any other key" state of a fused key terminal, a string value's body and the generic STRING
terminal all reach the same string-body automaton, and its 128k-token slices are computed once
per process. Computing a slice is a numpy walk, one byte column at a time, over the tokens that
start with `b`. Whole tables are cached the same way. A state whose row differs from a
successor's in a few bytes (the start of an "any other key" terminal) takes that successor's
table and corrects it where the two walks over the prefix tree part (`_patched`).

Caches hold tables and slices as plain tuples, which Python's collector stops tracking.
"""

from __future__ import annotations

import itertools
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from a3agent.grammars.engine.automata import ByteDFA, TerminalDFA
from a3agent.grammars.engine.token_trie import delta_walk, sparse_walk, trie_walk
from a3agent.grammars.engine.vocab import Vocabulary

__all__ = ["TokenTable", "suffix_table", "token_table"]

_DENSE = 1 / 16

_SLICE_CACHE_SIZE = 50_000
_TABLE_CACHE_SIZE = 1_000
_TRIE_ROWS = 20_000
"""Rows to walk beyond which the trie walk (shared prefixes stepped once) beats the row walk."""
_SPARSE_BYTES = 4
"""Live bytes out of a state up to which its table is first tried node by node."""
_SPARSE_NODES = 256
"""Trie nodes a node-by-node walk may visit (`sparse_walk`, and `delta_walk` per differing byte)
before it hands the work to the numpy walks."""
_PATCH_BYTES = 16
"""Bytes in which a state's row may differ from a successor's for its table to be patched from
that successor's (`_patched`)."""
_PATCH_CANDIDATES = 2
"""Most frequent successors tried as the table to patch from."""
_SUFFIX_CACHE_SIZE = 20_000
"""Suffix tables kept for the whole process, and per next automaton for the few-row ones (each
holds a subset of one byte's split rows of its table: a few dozen ids as a rule)."""
_FEW_ROWS = 64
"""Split rows up to which a suffix table is walked in Python."""
_EMPTY = np.zeros(0, np.int64)
_SERIALS = itertools.count()


@dataclass(eq=False, slots=True)
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
    serial: int = field(default_factory=lambda: next(_SERIALS))
    """Names the table in the keys of the suffix tables made from its splits."""

    def add_inside(self, mask: np.ndarray) -> None:
        """OR the inside tokens into `mask`."""
        if self.inside_mask is not None:
            np.logical_or(mask, self.inside_mask, out=mask)
        elif len(self.inside_ids):
            mask[self.inside_ids] = True


_Slice = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(inside: bool over the rows of this first byte, split rows, split positions)."""
_Stored = tuple[np.ndarray, "np.ndarray | None", np.ndarray, np.ndarray, tuple[int, ...], int]
"""A `TokenTable` as the caches keep it (its split ranges flat: byte, start, end, byte, ...,
which slices and `zip` turn back into the dict without a Python-level loop).
Caches hold slices and tables as plain tuples of arrays and ints, which Python's collector stops
tracking (a tuple holding a dict or an object stays tracked): kept as objects, the tens of
thousands of them a long run gathers would be walked by every full collection."""

_Cached = TypeVar("_Cached")
_SLICES: OrderedDict[tuple, _Slice] = OrderedDict()
_TABLES: OrderedDict[tuple, _Stored] = OrderedDict()
_SUFFIX_TABLES: OrderedDict[tuple, _Stored] = OrderedDict()
_UNSTARTED: set[tuple] = set()
"""`_started_like`'s keys whose table meets too many trie nodes to walk node by node."""


def _stored(table: TokenTable) -> _Stored:
    ranges = tuple(n for byte, (a, z) in table.split_ranges.items() for n in (byte, a, z))
    return (table.inside_ids, table.inside_mask, table.split_rows, table.split_pos, ranges, table.serial)


_LIVE_TABLES = 1_024
"""Tables most recently loaded from the caches, kept as objects (first in, first out): the same
few tables are asked for again and again along a document, and rebuilding one from its tuple
costs more than the lookup. Bounded, so the collector sees a few thousand objects at most."""
_LIVE: dict[int, TokenTable] = {}


def _loaded(stored: _Stored | None) -> TokenTable | None:
    if stored is None:
        return None
    table = _LIVE.get(stored[5])
    if table is None:
        inside_ids, inside_mask, split_rows, split_pos, ranges, serial = stored
        split_ranges = dict(zip(ranges[0::3], zip(ranges[1::3], ranges[2::3])))
        table = _LIVE[serial] = TokenTable(inside_ids, inside_mask, split_rows, split_pos, split_ranges, serial)
        if len(_LIVE) > _LIVE_TABLES:
            del _LIVE[next(iter(_LIVE))]
    return table


def _private(dfa: TerminalDFA, name: str) -> OrderedDict:
    """The automaton's own cache `name`, made on first use (not made and dropped on every lookup)."""
    cache = dfa.__dict__.get(name)
    if cache is None:
        cache = dfa.__dict__[name] = OrderedDict()
    return cache


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
        out.append((inside[starts[b] : starts[b + 1]], split_rows[a:z], split_pos[a:z]))
    return out


def _row_walk(
    vocab: Vocabulary, dfa: TerminalDFA, firsts: list[int], targets: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inside per row, split rows, split positions), one byte column at a time over the rows."""
    starts = vocab.first_byte_start
    ranges = [np.arange(starts[b], starts[b + 1], dtype=np.int64) for b in firsts]
    rows = np.concatenate(ranges)
    states = np.repeat(np.array(targets, dtype=np.int32), [len(r) for r in ranges])
    ended, split_rows, split_pos = _walk_on(vocab, dfa, rows, np.ones(len(rows), np.int64), states)
    inside = np.zeros(len(vocab.ids), dtype=bool)
    inside[ended] = True
    return inside, split_rows, split_pos


def _walk_on(
    vocab: Vocabulary, dfa: TerminalDFA, rows: np.ndarray, pos: np.ndarray, states: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows read on from byte `pos`, each from its state, one byte column at a time: (rows read
    to their end alive, split rows, split positions)."""
    ended: list[np.ndarray] = []
    split_rows: list[np.ndarray] = []
    split_pos: list[np.ndarray] = []
    while len(rows):
        longer = vocab.lengths[rows] > pos
        at_split = dfa.accept[states] & longer
        if at_split.any():
            split_rows.append(rows[at_split])
            split_pos.append(pos[at_split])
        ended.append(rows[~longer])
        rows, pos, states = rows[longer], pos[longer], states[longer]
        if not len(rows):
            break
        dfa.ensure(states)
        nxt = dfa.trans[states, vocab.matrix[rows, pos]]
        alive = nxt >= 0
        rows, pos, states = rows[alive], pos[alive] + 1, nxt[alive]
    return tuple(np.concatenate(part) if part else _EMPTY for part in (ended, split_rows, split_pos))  # type: ignore[return-value]


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
    private = _private(dfa, "_private_slices")
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
        for (b, _, into, key), piece in zip(missing, walked):
            _remember(into, key, piece, _SLICE_CACHE_SIZE)
            found[b] = piece
    inside = np.zeros(int(starts[256]), dtype=bool)
    for b, (piece_inside, _, _) in found.items():
        inside[starts[b] : starts[b + 1]] = piece_inside
    split = [found[b] for b in sorted(found) if len(found[b][1])]
    mask = None
    if np.count_nonzero(inside) > vocab.size * _DENSE:
        mask = np.append(inside, False)[vocab.row_of_id]
        inside_ids = np.zeros(0, np.int32)
    else:
        inside_ids = vocab.ids[np.flatnonzero(inside)]
    if not split:
        return _table(vocab, inside_ids, mask, _EMPTY, _EMPTY)
    rows = np.concatenate([rows for _, rows, _ in split])
    return _table(vocab, inside_ids, mask, rows, np.concatenate([pos for _, _, pos in split]))


def _sparse_table(
    vocab: Vocabulary, dfa: TerminalDFA, state: int, starts: Sequence[tuple[int, int]] | None = None
) -> TokenTable | None:
    """The table of a state that meets few trie nodes, walked node by node (None: it meets many).
    `starts`: (first byte, state after it) pairs to walk instead of the state's own row."""
    tree = vocab.prefix_tree
    found = sparse_walk(tree, dfa, state, _SPARSE_NODES, starts)
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
    if len(rows) <= _FEW_ROWS:  # numpy's per-call cost would dominate
        entries = sorted((int(vocab.matrix[r, p]), r, p) for r, p in zip(rows.tolist(), pos.tolist()))
        few: dict[int, tuple[int, int]] = {}
        for i, (byte, _, _) in enumerate(entries):
            few[byte] = (few.get(byte, (i, i))[0], i + 1)
        return TokenTable(inside_ids, mask, np.array([e[1] for e in entries], np.int64),
                          np.array([e[2] for e in entries], np.int64), few)
    first = vocab.matrix[rows, pos]
    order = np.argsort(first, kind="stable")
    rows, pos, first = rows[order], pos[order], first[order]
    starts = np.flatnonzero(np.concatenate([[True], first[1:] != first[:-1]]))
    ends = np.append(starts[1:], len(first))
    ranges = dict(zip(first[starts].tolist(), zip(starts.tolist(), ends.tolist())))  # no numpy scalars
    return TokenTable(inside_ids, mask, rows, pos, ranges)


def token_table(vocab: Vocabulary, dfa: TerminalDFA, state: int) -> TokenTable:
    """The (cached) table of `dfa` in `state` over `vocab`.

    A literal's state is shared by the text ahead (a digest of a slice), and walked node by node
    when new. A spelled automaton's opening byte into a state patched from its successor takes
    the table of that byte into the successor, corrected (`_started_like`). Another state with
    few live bytes is first walked node by node (`_sparse_table`: no signature to compute, kept in
    the automaton's own cache). Otherwise, or when that walk meets too many nodes, the table is
    shared by every state (of any automaton) whose signature within the longest token's reach is
    the same: patched from a successor's table whose row differs in a few bytes, else assembled
    from slices."""
    return _table_of(vocab, dfa, state, patch=True)


def _table_of(vocab: Vocabulary, dfa: TerminalDFA, state: int, patch: bool) -> TokenTable:
    """`token_table`; `patch`: a table missing from the caches may be patched from a successor's."""
    private = _private(dfa, "_private_tables")
    own = (vocab.fingerprint, dfa.private_key(state, vocab.max_len))
    table = _loaded(private.get(own))
    if table is not None:
        return table
    if dfa.text is not None:  # a literal's: shared by every literal with the same text ahead
        key = (vocab.fingerprint, dfa.signature(state, vocab.max_len))
        table = _loaded(_TABLES.get(key))
        if table is None:
            table = _sparse_table(vocab, dfa, state) or _compute(vocab, dfa, state)
            _remember(_TABLES, key, _stored(table), _TABLE_CACHE_SIZE)
        _remember(private, own, _stored(table), _TABLE_CACHE_SIZE)
        return table
    if getattr(dfa, "structure", None) is not None and len(dfa.next_bytes[state]) == 1:
        # a spelled automaton's opening byte: its successors' signatures are lookups (`ByteDFA.structure`)
        table = _started_like(vocab, dfa, state)
        if table is not None:
            _remember(private, own, _stored(table), _TABLE_CACHE_SIZE)
            return table
    if own not in dfa.__dict__.get("_not_sparse", ()) and len(dfa.next_bytes[state]) <= _SPARSE_BYTES:
        table = _sparse_table(vocab, dfa, state)
        if table is not None:
            _remember(private, own, _stored(table), _TABLE_CACHE_SIZE)
            return table
        # made only when it gets a member: most automata would hold an empty set otherwise, one
        # more object for every full collection to walk
        dfa.__dict__.setdefault("_not_sparse", set()).add(own)
    digest = dfa.signature(state, vocab.max_len)
    if digest is None:
        table = (patch and _patched(vocab, dfa, state)) or _compute(vocab, dfa, state)
        _remember(private, own, _stored(table), _TABLE_CACHE_SIZE)
        return table
    key = (vocab.fingerprint, digest)
    table = _loaded(_TABLES.get(key))
    if table is None:
        table = (patch and _patched(vocab, dfa, state)) or _compute(vocab, dfa, state)
        _remember(_TABLES, key, _stored(table), _TABLE_CACHE_SIZE)
    else:
        _TABLES.move_to_end(key)
    return table


def _patched(vocab: Vocabulary, dfa: TerminalDFA, state: int) -> TokenTable | None:
    """The table of `state` made from a successor's whose row differs in a few bytes (None:
    none does). Tokens starting with any other byte fare alike from both; for the differing
    bytes the two walks go together over the prefix tree only while their states differ
    (`delta_walk`), and the other table is corrected there. Inside an "any other key" automaton
    every state but a few goes on like a string body: the key's start and the states spelling a
    declared name differ from the body in a byte or two, along a path or two, and the body's table
    is shared by every grammar."""
    found = _patch_base(dfa, state)
    if found is None:
        return None
    other, diff = found
    base = _table_of(vocab, dfa, other, patch=False)  # one level: no chain, no cycle
    return _corrected(vocab, dfa, base, dfa.rows[state], dfa.rows[other], diff)


def _patch_base(dfa: TerminalDFA, state: int) -> tuple[int, list[int]] | None:
    """Of the most frequent successors of `state`, the one whose row differs from its own in the
    fewest bytes, if at most `_PATCH_BYTES`, and those bytes."""
    row = dfa.rows[state]
    best: tuple[int, list[int]] | None = None
    # the most frequent successors, ties in first-seen order (Counter counts in C, in one pass)
    for other, _ in Counter(row).most_common(_PATCH_CANDIDATES):
        if other < 0 or other == state:
            continue
        if isinstance(dfa, ByteDFA):  # compared in C: most rows differ in a byte or two of 256
            diff = np.flatnonzero(dfa.trans[state] != dfa.trans[other]).tolist()
        else:
            diff = [b for b, (x, y) in enumerate(zip(row, dfa.rows[other])) if x != y]
        if len(diff) <= _PATCH_BYTES and (best is None or len(diff) < len(best[1])):
            best = (other, diff)
    return best


def _started_like(vocab: Vocabulary, dfa: TerminalDFA, state: int) -> TokenTable | None:
    """The table of a state with one live byte `b`, into a state `t` patched from its successor
    `u` (an opening quote into an "any other key" trie, `u` its string body): the table of going
    from `b` to `u` instead, shared by every automaton whose `u` has the same signature, corrected
    where `t` and `u` part. None when `t` has no such successor or `u` no signature."""
    row = dfa.rows[state]
    (b,) = dfa.next_bytes[state]
    found = _patch_base(dfa, row[b])
    if found is None:
        return None
    u = found[0]
    digest = dfa.signature(u, vocab.max_len)
    if digest is None:
        return None
    key = (vocab.fingerprint, "from", b, digest)
    if key in _UNSTARTED:
        return None
    base = _loaded(_TABLES.get(key))
    if base is None:
        base = _sparse_table(vocab, dfa, state, ((b, u),))
        if base is None:  # the byte begins too many tokens: not walked again for the next automaton
            if len(_UNSTARTED) >= _TABLE_CACHE_SIZE:
                _UNSTARTED.clear()
            _UNSTARTED.add(key)
            return None
        _remember(_TABLES, key, _stored(base), _TABLE_CACHE_SIZE)
    return _corrected(vocab, dfa, base, row, row[:b] + (u,) + row[b + 1 :], [b])


def _corrected(
    vocab: Vocabulary, dfa: TerminalDFA, base: TokenTable, row: Sequence[int], other_row: Sequence[int], diff: list[int]
) -> TokenTable:
    """`base`, the table of a state with `other_row`, corrected into the table of a state with
    `row` (they differ in the bytes `diff`)."""
    if not diff:
        return base
    tree = vocab.prefix_tree
    on: list[np.ndarray] = []
    off: list[np.ndarray] = []
    add_rows: list[np.ndarray] = []
    add_pos: list[np.ndarray] = []
    dropped = np.zeros(len(base.split_rows), bool)
    base_pos = base.split_pos
    whole = []
    for b in diff:
        found = delta_walk(tree, dfa, b, row[b], other_row[b], _SPARSE_NODES)
        if found is None:
            whole.append(b)
            continue
        news, olds, olds_below, adds, drops = found
        on.extend(tree.end_ids[lo:hi] for lo, hi in news)
        off.extend(tree.end_ids[lo:hi] for lo, hi in olds)
        off.extend(vocab.ids[tree.below_rows[lo:hi]] for lo, hi in olds_below)
        for lo, hi, depth in adds:
            add_rows.append(tree.below_rows[lo:hi])
            add_pos.append(np.full(hi - lo, depth, np.int64))
        for lo, hi, first, end in drops:
            dropped |= np.isin(base.split_rows, tree.below_rows[lo:hi]) & (base_pos >= first) & (base_pos <= end)
    if whole:  # too many nodes differ: walk every token starting with those bytes
        starts = vocab.first_byte_start
        live = [b for b in whole if row[b] >= 0]
        off.extend(vocab.ids[starts[b] : starts[b + 1]] for b in whole)
        dropped |= np.isin(vocab.matrix[base.split_rows, 0], whole)
        for b, (inside, split_rows, split_pos) in zip(live, _walk(vocab, dfa, live, [row[b] for b in live]) if live else []):
            on.append(vocab.ids[starts[b] + np.flatnonzero(inside)])
            add_rows.append(split_rows)
            add_pos.append(split_pos)
    same_splits = not (add_rows or dropped.any())
    if same_splits and not (on or off):
        return base  # the walks parted, yet no token fares otherwise: the same table
    if base.inside_mask is not None:
        mask = base.inside_mask.copy()
        for ids in off:
            mask[ids] = False
        for ids in on:
            mask[ids] = True
        inside_ids = _EMPTY
    else:
        mask = None
        kept_ids = base.inside_ids[~np.isin(base.inside_ids, np.concatenate(off))] if off else base.inside_ids
        inside_ids = np.concatenate([kept_ids, *on])
    if same_splits:  # no need to sort the splits again
        return TokenTable(inside_ids, mask, base.split_rows, base.split_pos, base.split_ranges)
    rows = np.concatenate([base.split_rows[~dropped], *add_rows])
    pos = np.concatenate([base.split_pos[~dropped], *add_pos])
    return _table(vocab, inside_ids, mask, rows, pos)


def suffix_table(vocab: Vocabulary, table: TokenTable, byte: int, dfa: TerminalDFA, state: int) -> TokenTable:
    """The split tokens of `table` whose suffix starts with `byte`, read on through the next
    terminal from `state` of its automaton (where `byte` took it): which end inside it, which
    split again. No parser question, so cached for the whole process: a few rows are walked in
    Python and kept by the automaton; many by numpy, shared by the next automaton's signature
    (the split tokens after `:` or `,` are sorted into value starts once, not once per grammar);
    a literal's by the text ahead, whatever the rows (key names that end alike share them)."""
    a, z = table.split_ranges[byte]
    few = z - a <= _FEW_ROWS
    digest = None if few and dfa.text is None else dfa.signature(state, vocab.max_len)
    if digest is None:
        cache = _private(dfa, "_private_suffix_tables")
        key: tuple = (table.serial, byte, dfa.private_key(state, vocab.max_len))
    else:
        cache, key = _SUFFIX_TABLES, (table.serial, byte, digest)
    sub = _loaded(cache.get(key))
    if sub is not None:
        cache.move_to_end(key)
        return sub
    rows, pos = table.split_rows[a:z], table.split_pos[a:z] + 1
    if few:
        sub = _few_suffixes(vocab, dfa, state, rows.tolist(), pos.tolist())
    else:
        ended, split_rows, split_pos = _walk_on(vocab, dfa, rows, pos, np.full(len(rows), state, np.int32))
        sub = _table(vocab, vocab.ids[ended], None, split_rows, split_pos)
    _remember(cache, key, _stored(sub), _SUFFIX_CACHE_SIZE)
    return sub


def _few_suffixes(vocab: Vocabulary, dfa: TerminalDFA, state: int, rows: list[int], pos: list[int]) -> TokenTable:
    """`suffix_table` for a few rows, byte by byte in Python (numpy's per-call cost would dominate)."""
    automaton, accepting = dfa.rows, dfa.accepting
    ended: list[int] = []
    split_rows: list[int] = []
    split_pos: list[int] = []
    for row, p in zip(rows, pos):
        tid = int(vocab.ids[row])
        data = vocab.token_bytes[tid]
        s = state
        while p < len(data):  # type: ignore[arg-type]
            if accepting[s]:
                split_rows.append(row)
                split_pos.append(p)
            s = automaton[s][data[p]]  # type: ignore[index]
            if s < 0:
                break
            p += 1
        else:
            ended.append(tid)
    return _table(vocab, np.array(ended, np.int64), None, np.array(split_rows, np.int64), np.array(split_pos, np.int64))
