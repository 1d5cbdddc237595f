"""The vocabulary as a trie stored level by level, for walks that visit each shared prefix once.

A walk of a DFA over the whole vocabulary (a dense token table: a string body, a key pattern)
row by row touches every byte of every token: 750k steps for Tekken. Tokens share prefixes, so
the trie has only 266k nodes below the first byte; walking it one level at a time with numpy
computes each prefix's state once. Level `d` holds the distinct `d`-byte prefixes in
lexicographic order, each with its parent at level `d - 1` and its last byte; the tokens that
end at a level, and those that go deeper, are listed with their node so results map back to
vocabulary rows.

`PrefixTree` is the same trie numbered node by node, for the opposite case: a walk from a state
with few live bytes (inside a property name, a literal, a digit run) meets a handful of nodes,
and stepping them one at a time in Python costs microseconds where a numpy pass over every
token that starts with the right byte costs a hundred.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
import numpy as np

from a3agent.grammars.engine.automata import ByteDFA, TerminalDFA

__all__ = ["PrefixTree", "TokenTrie", "build_prefix_tree", "build_trie", "delta_walk", "sparse_walk", "trie_walk"]


@dataclass(eq=False)
class TokenTrie:
    parents: list[np.ndarray]
    """Per level d >= 2 (index d - 1): each node's parent at level d - 1."""
    last_bytes: list[np.ndarray]
    """Per level d >= 2 (index d - 1): each node's last byte."""
    ending_rows: list[np.ndarray]
    """Per level d (index d - 1): the rows of the tokens of length d ..."""
    ending_nodes: list[np.ndarray]
    """... and their node at that level."""
    deeper_rows: list[np.ndarray]
    """Per level d: the rows of the tokens longer than d, in node order ..."""
    deeper_nodes: list[np.ndarray]
    """... and their node at level d (sorted)."""


def build_trie(matrix: np.ndarray, lengths: np.ndarray) -> TokenTrie:
    """The trie of vocabulary rows (`matrix`: zero-padded bytes, `lengths`: real lengths).

    Level-1 nodes are the byte values themselves (0..255)."""
    columns = tuple(matrix[:, c] for c in reversed(range(matrix.shape[1])))  # last key sorts first
    rows = (np.lexsort(columns) if len(matrix) else np.zeros(0)).astype(np.int64)
    nodes = matrix[rows, 0].astype(np.int64)
    parents, last_bytes = [np.zeros(0, np.int64)], [np.arange(256, dtype=np.uint8)]
    ending_rows, ending_nodes, deeper_rows, deeper_nodes = [], [], [], []
    depth = 1
    while True:
        ends = lengths[rows] == depth
        ending_rows.append(rows[ends])
        ending_nodes.append(nodes[ends])
        rows, nodes = rows[~ends], nodes[~ends]
        deeper_rows.append(rows)
        deeper_nodes.append(nodes)
        if not len(rows):
            break
        byte = matrix[rows, depth]
        starts = np.ones(len(rows), dtype=bool)
        starts[1:] = (nodes[1:] != nodes[:-1]) | (byte[1:] != byte[:-1])
        parents.append(nodes[starts])
        last_bytes.append(byte[starts])
        nodes = np.cumsum(starts) - 1
        depth += 1
    return TokenTrie(parents, last_bytes, ending_rows, ending_nodes, deeper_rows, deeper_nodes)


def trie_walk(trie: TokenTrie, dfa: TerminalDFA, first: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every token through a DFA from `first[b]`, the state after its first byte b (-1: dead).

    `dfa` has `trans`, `accept` and `ensure(states)`, which builds the rows a lazy automaton
    has not built yet before each level reads them.

    Returns (inside: bool per row, split rows, split positions), as `token_table` defines them:
    a row is inside when it is read to its end alive; (row, k) is a split when the state after k
    bytes accepts and the token has more bytes.
    """
    inside = np.zeros(n_rows, dtype=bool)
    split_rows: list[np.ndarray] = []
    split_pos: list[np.ndarray] = []
    state = first.astype(np.int64)
    padded = dfa.dead_padded if isinstance(dfa, ByteDFA) else None  # lazy ones grow as they are walked
    depth = 1
    while True:
        alive = state >= 0
        ends = trie.ending_nodes[depth - 1]
        inside[trie.ending_rows[depth - 1][alive[ends]]] = True
        if padded is None:
            accepting = np.flatnonzero(alive & dfa.accept[np.maximum(state, 0)])
        else:
            accepting = np.flatnonzero(padded[1][state])
        if len(accepting):
            nodes = trie.deeper_nodes[depth - 1]
            lo = np.searchsorted(nodes, accepting, "left")
            counts = np.searchsorted(nodes, accepting, "right") - lo
            total = int(counts.sum())
            if total:
                index = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)
                split_rows.append(trie.deeper_rows[depth - 1][index])
                split_pos.append(np.full(total, depth))
        if depth >= len(trie.parents) or not alive.any():
            break
        parent_state = state[trie.parents[depth]]
        if padded is None:
            dfa.ensure(parent_state)
            state = np.where(parent_state >= 0, dfa.trans[np.maximum(parent_state, 0), trie.last_bytes[depth]], -1)
        else:
            state = padded[0][parent_state * 256 + trie.last_bytes[depth]]
        depth += 1
    empty = np.zeros(0, np.int64)
    return (
        inside,
        np.concatenate(split_rows) if split_rows else empty,
        np.concatenate(split_pos) if split_pos else empty,
    )


@dataclass(eq=False)
class PrefixTree:
    """The trie as numbered nodes: level-1 node `b` is byte `b`, deeper levels follow in order.

    Per node, as compact arrays (not objects the collector walks): its children's id range (they
    are contiguous and sorted by last byte), its last byte, the range of `end_ids` holding the
    tokens that end at it, and the range of `below_rows` holding the vocabulary rows of the
    tokens that go on past it.
    """

    child_lo: array
    child_hi: array
    last_byte: bytes
    end_lo: array
    end_hi: array
    end_ids: np.ndarray
    below_lo: array
    below_hi: array
    below_rows: np.ndarray


def build_prefix_tree(trie: TokenTrie, ids: np.ndarray) -> PrefixTree:
    """Number the nodes of `trie` (`ids`: token id of each vocabulary row)."""
    sizes = [256] + [len(p) for p in trie.parents[1:]]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    total = int(offsets[-1])
    child_lo = np.zeros(total, np.int64)
    child_hi = np.zeros(total, np.int64)
    for level, size in enumerate(sizes[:-1]):  # children of level `level + 1` live at `level + 2`
        parents, here = trie.parents[level + 1], np.arange(size)
        child_lo[offsets[level] : offsets[level + 1]] = offsets[level + 1] + np.searchsorted(parents, here, "left")
        child_hi[offsets[level] : offsets[level + 1]] = offsets[level + 1] + np.searchsorted(parents, here, "right")
    end_nodes = np.concatenate([offsets[d] + n for d, n in enumerate(trie.ending_nodes)])
    end_rows = np.concatenate(trie.ending_rows)
    order = np.argsort(end_nodes, kind="stable")
    end_nodes, end_rows = end_nodes[order], end_rows[order]
    below_nodes = np.concatenate([offsets[d] + n for d, n in enumerate(trie.deeper_nodes)])
    nodes = np.arange(total)

    def packed(values: np.ndarray) -> array:
        return array("q", values.astype(np.int64).tobytes())

    return PrefixTree(
        packed(child_lo),
        packed(child_hi),
        np.concatenate(trie.last_bytes).astype(np.uint8).tobytes(),
        packed(np.searchsorted(end_nodes, nodes, "left")),
        packed(np.searchsorted(end_nodes, nodes, "right")),
        ids[end_rows].astype(np.int64),
        packed(np.searchsorted(below_nodes, nodes, "left")),
        packed(np.searchsorted(below_nodes, nodes, "right")),
        np.concatenate(trie.deeper_rows).astype(np.int64),
    )


Ranges = list[tuple[int, int]]
Splits = list[tuple[int, int, int]]


def sparse_walk(
    tree: PrefixTree, dfa: TerminalDFA, state: int, budget: int, starts: Sequence[tuple[int, int]] | None = None
) -> tuple[Ranges, Splits] | None:
    """`trie_walk` from one state, node by node, visiting only nodes the DFA is alive at; from the
    (first byte, state after it) pairs `starts` instead of the state's own row when given.

    Returns the `end_ids` ranges of the inside tokens and `(below_lo, below_hi, depth)` for the
    splits (the rows below a node whose state accepts, split after `depth` bytes); None once more
    than `budget` nodes (children scanned count an eighth each) would be visited: the state
    reaches too much of the vocabulary, which the numpy walks do better.
    """
    rows, accepting, next_bytes = dfa.rows, dfa.accepting, dfa.next_bytes
    last, child_lo, child_hi = tree.last_byte, tree.child_lo, tree.child_hi
    end_lo, end_hi, below_lo, below_hi = tree.end_lo, tree.end_hi, tree.below_lo, tree.below_hi
    if starts is None:
        row = rows[state]
        starts = [(b, row[b]) for b in next_bytes[state]]
    todo = [(b, s, 1) for b, s in starts]
    ends: Ranges = []
    splits: Splits = []
    while todo:
        node, s, depth = todo.pop()
        budget -= 1
        if budget < 0:
            return None
        if end_lo[node] < end_hi[node]:
            ends.append((end_lo[node], end_hi[node]))
        if accepting[s] and below_lo[node] < below_hi[node]:
            splits.append((below_lo[node], below_hi[node], depth))
        lo, hi = child_lo[node], child_hi[node]
        live = next_bytes[s] if lo < hi else ()
        if not live:
            continue
        row = rows[s]
        if len(live) * 8 < hi - lo:  # few live bytes among many children: look each one up
            for b in live:
                c = bisect_left(last, b, lo, hi)
                if c < hi and last[c] == b:
                    todo.append((c, row[b], depth + 1))
        else:
            budget -= (hi - lo) >> 3
            for c in range(lo, hi):
                t = row[last[c]]
                if t >= 0:
                    todo.append((c, t, depth + 1))
    return ends, splits


Delta = tuple[Ranges, Ranges, Ranges, Splits, list[tuple[int, int, int, int]]]


def delta_walk(tree: PrefixTree, dfa: TerminalDFA, byte: int, state: int, base: int, budget: int) -> Delta | None:
    """How the tokens starting with `byte` fare from `state` (where `byte` led) unlike from `base`:
    both are walked together node by node, and only where the two states differ (once they meet,
    every token below fares alike).

    Returns `end_ids` ranges newly inside and no longer inside, `below_rows` ranges of tokens no
    longer inside (below a node where `state`'s walk died), splits to add as `sparse_walk` gives
    them, and splits to drop as (below_lo, below_hi, first, last position); None once more than
    `budget` nodes would be visited.
    """
    rows, accepting = dfa.rows, dfa.accepting
    last, child_lo, child_hi = tree.last_byte, tree.child_lo, tree.child_hi
    end_lo, end_hi, below_lo, below_hi = tree.end_lo, tree.end_hi, tree.below_lo, tree.below_hi
    on: Ranges = []
    off: Ranges = []
    off_below: Ranges = []
    add: Splits = []
    drop: list[tuple[int, int, int, int]] = []
    todo = [(byte, state, base, 1)]
    while todo:
        node, s, r, depth = todo.pop()
        budget -= 1
        if budget < 0:
            return None
        if end_lo[node] < end_hi[node] and (s >= 0) != (r >= 0):
            (on if s >= 0 else off).append((end_lo[node], end_hi[node]))
        lo, hi = below_lo[node], below_hi[node]
        splits, base_splits = s >= 0 and accepting[s], r >= 0 and accepting[r]
        if lo < hi and splits != base_splits:
            if splits:
                add.append((lo, hi, depth))
            else:
                drop.append((lo, hi, depth, depth))
        if s < 0:  # the base is alive here: everything below it is lost
            if lo < hi:
                off_below.append((lo, hi))
                drop.append((lo, hi, depth + 1, 1 << 30))
            continue
        row, base_row = rows[s], (rows[r] if r >= 0 else None)
        budget -= (child_hi[node] - child_lo[node]) >> 3
        for c in range(child_lo[node], child_hi[node]):
            b = last[c]
            t, u = row[b], (base_row[b] if base_row is not None else -1)
            if t != u:
                todo.append((c, t, u, depth + 1))
    return on, off, off_below, add, drop
