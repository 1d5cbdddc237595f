"""The vocabulary as a trie stored level by level, for walks that visit each shared prefix once.

A walk of a DFA over the whole vocabulary (a dense token table: a string body, a key pattern)
row by row touches every byte of every token: 750k steps for Tekken. Tokens share prefixes, so
the trie has only 266k nodes below the first byte; walking it one level at a time with numpy
computes each prefix's state once. Level `d` holds the distinct `d`-byte prefixes in
lexicographic order, each with its parent at level `d - 1` and its last byte; the tokens that
end at a level, and those that go deeper, are listed with their node so results map back to
vocabulary rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from a3agent.grammars.engine.automata import TerminalDFA

__all__ = ["TokenTrie", "build_trie", "trie_walk"]


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
    depth = 1
    while True:
        alive = state >= 0
        ends = trie.ending_nodes[depth - 1]
        inside[trie.ending_rows[depth - 1][alive[ends]]] = True
        accepting = np.flatnonzero(alive & dfa.accept[np.maximum(state, 0)])
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
        dfa.ensure(parent_state)
        state = np.where(parent_state >= 0, dfa.trans[np.maximum(parent_state, 0), trie.last_bytes[depth]], -1)
        depth += 1
    empty = np.zeros(0, np.int64)
    return (
        inside,
        np.concatenate(split_rows) if split_rows else empty,
        np.concatenate(split_pos) if split_pos else empty,
    )
