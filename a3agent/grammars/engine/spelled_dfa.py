"""An automaton whose edges read words of byte regexes, determinised into one byte DFA.

The schema compiler knows some languages as automata over characters: the keys other than the
declared names (a trie), numbers under bounds or `multipleOf` (digit automata), strings whose
constraints made no small regex. Each character edge reads one of several byte strings (UTF-8,
JSON escapes), given here as a node of `byte_regex`. Written as grammar rules, such an automaton
costs lark a rule per state and the compiler a fusion pass to make it one terminal again; here
the terminal's DFA is built directly.

A DFA state is the set of items (automaton state, what is left of the edge being read); an item
whose rest is the empty string has arrived. Rows are computed once per byte class where some
pending rest can change (`Nodes.cuts`), not per byte.

Bounds: `Limits.dfa_states` states (`GrammarTooComplex` past it), and the compile budget is
charged per state.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

from a3agent.grammars.engine.automata import ByteDFA, minimal_table_dfa
from a3agent.grammars.engine.byte_regex import Nodes
from a3agent.grammars.engine.limits import charge, check_count

__all__ = ["spelled_dfa"]

_S = TypeVar("_S", bound=Hashable)
_EPS = 1
"""`Nodes`' empty-string node: an item with this rest has arrived at its state."""


def spelled_dfa(
    nodes: Nodes, initial: _S, finals: frozenset[_S], edges: Mapping[_S, Sequence[tuple[int, _S]]], path: str = "",
    structure_of: Callable[[_S], Hashable | None] | None = None,
) -> ByteDFA:
    """The byte DFA of the automaton from `initial` to any of `finals`, where each edge
    `(word, target)` of `edges[state]` reads one byte string of node `word` (in `nodes`).

    `path` is the JSON path named by `GrammarTooComplex` when the DFA outgrows `Limits.dfa_states`.

    `structure_of(state)`: a key that the language from `state` depends on alone (the caller's
    canonical form of the automaton's part reachable from it), or None. When the DFA is minimised,
    the byte state reached on arriving at `state` with nothing pending has, from there, the minimal
    automaton of that language: its signature is a function of the key (`ByteDFA.structure`).
    """
    start: frozenset[tuple[_S, int]] = frozenset({(initial, _EPS)})
    number = {start: 0}
    order = [start]
    rows: list[np.ndarray] = []
    for items in order:  # grows as new sets are met
        charge(1, path)
        row = np.full(256, -1, dtype=np.int32)
        pending = _pending(items, edges)
        cuts = sorted({c for _, rest in pending for c in nodes.cuts(rest)})
        for lo, hi in zip(cuts, cuts[1:]):
            step: set[tuple[_S, int]] = set()
            for state, rest in pending:
                after = nodes.derivative(rest, lo)
                if after:
                    step.add((state, after))
                    if after != _EPS and nodes.nullable[after]:
                        step.add((state, _EPS))
            if not step:
                continue
            target = frozenset(step)
            index = number.get(target)
            if index is None:
                index = number[target] = len(order)
                check_count(len(order) + 1, "dfa_states", path, "states of a terminal's automaton")
                order.append(target)
            row[lo:hi] = index
        rows.append(row)
    accept = np.array([any(rest == _EPS and state in finals for state, rest in items) for items in order])
    dfa, renumbered = minimal_table_dfa(np.stack(rows), accept)
    if structure_of is not None and renumbered is not None:
        arrived: dict[int, _S] = {}
        for index, items in enumerate(order):
            if len(items) == 1 and renumbered[index] >= 0:
                ((state, rest),) = items
                if rest == _EPS:
                    arrived[int(renumbered[index])] = state
        dfa.structure = lambda byte_state: structure_of(arrived[byte_state]) if byte_state in arrived else None
    return dfa


def _pending(items: frozenset[tuple[_S, int]], edges: Mapping[_S, Sequence[tuple[int, _S]]]) -> list[tuple[_S, int]]:
    """What the next byte may advance: the edges out of arrived states, and the unfinished words."""
    out: list[tuple[_S, int]] = []
    for state, rest in items:
        if rest == _EPS:
            out.extend((target, word) for word, target in edges.get(state, ()))
        else:
            out.append((state, rest))
    return out
