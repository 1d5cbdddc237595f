"""Regular parts of a grammar fused into single terminals at compile time.

Schema grammars spell some regular languages as rules over one-character terminals: the keys
other than the declared names (a trie of rules), numbers under bounds or multipleOf (digit
automata). Left to the parser, every character is a terminal, so almost every token crosses
terminal ends and its mask is walked through the parser in Python (150 ms for one key position
over Tekken). Here each such nonterminal becomes one terminal whose byte DFA is built directly
from its rules, without regex text: its token tables are then computed vectorised, and the
parser sees one terminal.

A nonterminal is fused when
- its language is regular by construction: recursion only in tail position (right-linear), or
  one left-recursive rule (lark's expansion of `x*` and `x+`);
- it is lexical: a terminal inside it that more input can follow has a finite language, so the
  long bodies (strings, free numbers) stay in their own terminals, whose token tables every
  grammar shares;
- it cannot be empty, and its automaton stays under a size cap.
Otherwise its regular children are tried in its place. A nonterminal whose one rule is one
terminal is replaced by that terminal, with nothing to build. The grammar text is unchanged (that
is what users inspect); only the compiled tables differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from lark.grammar import Rule, Symbol, Terminal

from a3agent.grammars.engine.automata import ByteDFA, row_classes, table_dfa
from a3agent.grammars.engine.limits import charge
from a3agent.grammars.engine.lalr import nullable_symbols

__all__ = ["fuse_regular_rules"]

_MAX_POSITIONS = 4000
"""NFA positions one fused nonterminal may have (beyond: left to the parser)."""
_MAX_STATES = 2000
"""DFA states one fused terminal may have before minimisation."""
_MAX_ELEMENTS = 8192
"""States of the terminal automata on a fused nonterminal's moves, all together (each is a row of
256 in the combined table: 16 MB at the bound; MaskBench's largest has about 5,000)."""
_MAX_NESTING = 150
"""Nonterminals nested inside one another in one fused terminal (a long key's trie is a chain)."""
_MAX_REFINEMENTS = 40
"""Rounds of merging equivalent positions; a chain needs one per level, so past this none merge."""
_CELLS_A_UNIT = 256
"""(element, byte class) cells of a fused state's row that count as one unit of compile work."""
_FINAL = 0


class _TooBig(Exception):
    pass


def fuse_regular_rules(rules: list[Rule], dfas: dict[str, ByteDFA]) -> tuple[list[Rule], dict[str, ByteDFA]]:
    """Rules with fusible nonterminals replaced by new terminals, and those terminals' DFAs.

    `dfas` are the byte DFAs of the ordinary terminals (special-token terminals are absent and
    are never fused). Rules no longer reachable from `start` are dropped.
    """
    by_origin: dict[str, list[Sequence[Symbol]]] = {}
    for rule in rules:
        by_origin.setdefault(rule.origin.name, []).append(rule.expansion)
    kinds = _regular_kinds(by_origin, dfas)
    nullable = nullable_symbols([(name, tuple(s.name for s in exp)) for name, exps in by_origin.items() for exp in exps])
    fused: dict[str, ByteDFA] = {}
    names: dict[str, str] = {}
    """Fused nonterminal -> the terminal that replaces it."""
    seen, todo = {"start"}, ["start"]
    while todo:
        for expansion in by_origin[todo.pop()]:
            for sym in expansion:
                if sym.is_term or sym.name in seen:
                    continue
                seen.add(sym.name)
                alias = _one_terminal(by_origin[sym.name], dfas)
                if alias is not None:  # already one terminal: nothing to build
                    names[sym.name] = alias
                    continue
                dfa = None
                if sym.name in kinds and sym.name not in nullable:
                    dfa = _fused_dfa(sym.name, by_origin, kinds, dfas)
                if dfa is None:
                    todo.append(sym.name)
                else:
                    fused[sym.name] = dfa
                    names[sym.name] = _terminal_name(sym.name, dfas)
    if not names:
        return rules, {}
    out = []
    for rule in rules:
        if rule.origin.name in names:
            continue
        expansion = [Terminal(names[s.name]) if not s.is_term and s.name in names else s for s in rule.expansion]
        out.append(Rule(rule.origin, expansion, rule.order, rule.alias, rule.options))
    return _reachable(out), {names[n]: dfa for n, dfa in fused.items()}


def _one_terminal(expansions: list[Sequence[Symbol]], dfas: dict[str, ByteDFA]) -> str | None:
    """The terminal a nonterminal is an alias of (its one rule is that one ordinary terminal)."""
    if len(expansions) == 1 and len(expansions[0]) == 1:
        sym = expansions[0][0]
        if sym.is_term and sym.name in dfas:
            return str(sym.name)
    return None


def _terminal_name(nonterminal: str, taken: dict[str, ByteDFA]) -> str:
    name = f"__FUSED_{nonterminal}"
    while name in taken:
        name += "_"
    return name


def _reachable(rules: list[Rule]) -> list[Rule]:
    by_origin: dict[str, list[Rule]] = {}
    for rule in rules:
        by_origin.setdefault(rule.origin.name, []).append(rule)
    seen, todo = {"start"}, ["start"]
    while todo:
        for rule in by_origin.get(todo.pop(), ()):
            for sym in rule.expansion:
                if not sym.is_term and sym.name not in seen:
                    seen.add(sym.name)
                    todo.append(sym.name)
    return [r for r in rules if r.origin.name in seen]


# -- which nonterminals are regular -------------------------------------------------------------


def _regular_kinds(by_origin: dict[str, list[Sequence[Symbol]]], dfas: dict[str, ByteDFA]) -> dict[str, tuple[str, frozenset]]:
    """name -> (kind, its strongly connected component) for the regular nonterminals.

    kind: "plain" (not recursive), "right" (recursion only as the last symbol), "left" (one
    rule, recursion only as the first symbol).
    """
    kinds: dict[str, tuple[str, frozenset]] = {}
    for component in _components(by_origin):
        members = frozenset(component)
        expansions = [exp for name in component for exp in by_origin[name]]
        outside_ok = all(
            (sym.is_term and sym.name in dfas) or (not sym.is_term and (sym.name in members or sym.name in kinds))
            for exp in expansions
            for sym in exp
        )
        if not outside_ok:
            continue
        inner = [
            (i, len(exp)) for exp in expansions for i, sym in enumerate(exp) if not sym.is_term and sym.name in members
        ]
        if not inner:
            kind = "plain"
        elif all(i == n - 1 for i, n in inner):
            kind = "right"
        elif len(members) == 1 and all(i == 0 for i, _ in inner) and all(
            sum(not s.is_term and s.name in members for s in exp) <= 1 for exp in expansions
        ):
            kind = "left"
        else:
            continue
        for name in component:
            kinds[name] = (kind, members)
    return kinds


def _components(by_origin: dict[str, list[Sequence[Symbol]]]) -> list[list[str]]:
    """Strongly connected components of the rule graph, dependencies first (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []

    def successors(name: str) -> list[str]:
        return [s.name for exp in by_origin.get(name, ()) for s in exp if not s.is_term and s.name in by_origin]

    for root in by_origin:
        if root in index:
            continue
        work = [(root, iter(successors(root)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            name, it = work[-1]
            child = next(it, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors(child))))
                elif child in on_stack:
                    low[name] = min(low[name], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[name])
            if low[name] == index[name]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == name:
                        break
                out.append(component)
    return out


# -- rules to an NFA over terminals, then a byte DFA ------------------------------------------------


class _NFA:
    """Positions joined by empty moves and terminal moves; position 0 is the final one."""

    def __init__(self, by_origin: dict[str, list[Sequence[Symbol]]], kinds: dict[str, tuple[str, frozenset]]) -> None:
        self.by_origin = by_origin
        self.kinds = kinds
        self.empty: list[list[int]] = [[]]
        self.moves: list[list[tuple[str, int]]] = [[]]
        self._entries: dict[tuple[str, int], int] = {}
        self._depth = 0

    def position(self) -> int:
        """A new position; every one is charged, since a rule nested in many fusible rules is
        built again inside each (a 100-deep array: up to `_MAX_POSITIONS` per level)."""
        if len(self.moves) >= _MAX_POSITIONS:
            raise _TooBig
        charge(1)
        self.empty.append([])
        self.moves.append([])
        return len(self.moves) - 1

    def fragment(self, name: str, exit: int) -> int:
        """The entry of `name`'s language leading to `exit` (shared, so tail recursion loops)."""
        key = (name, exit)
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        entry = self._entries[key] = self.position()
        self._depth += 1
        if self._depth > _MAX_NESTING:
            raise _TooBig
        kind, _ = self.kinds[name]
        if kind == "left":  # A: A alpha | beta  ==  beta alpha*
            loop = self.position()
            for exp in self.by_origin[name]:
                if not exp[0].is_term and exp[0].name == name:
                    self.sequence(exp[1:], loop, loop)
                else:
                    self.sequence(exp, entry, loop)
            self.empty[loop].append(exit)
        else:
            for exp in self.by_origin[name]:
                self.sequence(exp, entry, exit)
        self._depth -= 1
        return entry

    def sequence(self, symbols: Sequence[Symbol], start: int, end: int) -> None:
        if not symbols:
            self.empty[start].append(end)
            return
        here = start
        for i, sym in enumerate(symbols):
            nxt = end if i == len(symbols) - 1 else self.position()
            if sym.is_term:
                self.moves[here].append((sym.name, nxt))
            else:
                self.empty[here].append(self.fragment(sym.name, nxt))
            here = nxt

    def closure(self, position: int) -> set[int]:
        """The positions reached by empty moves (charged by their count: every position's closure
        is taken, and a chain of nested rules makes them thousands long)."""
        seen, todo = {position}, [position]
        while todo:
            for q in self.empty[todo.pop()]:
                if q not in seen:
                    seen.add(q)
                    todo.append(q)
        charge(len(seen))
        return seen


def _closure_moves(nfa: _NFA, closure: set[int]) -> list[tuple[str, int]]:
    """The terminal moves out of a closure's positions (charged: closures nest thousands deep)."""
    out = [move for r in closure for move in nfa.moves[r]]
    charge(1 + len(out))
    return out


def _position_classes(nfa: _NFA, closures: list[set[int]]) -> list[int]:
    """Classes of NFA positions with the same future (bisimulation by partition refinement); every
    position alone when that does not settle within `_MAX_REFINEMENTS` rounds (sound, less shared)."""
    moves = [_closure_moves(nfa, c) for c in closures]
    size = len(closures) + sum(map(len, moves))
    classes = [int(_FINAL in c) for c in closures]
    count = len(set(classes))
    for _ in range(_MAX_REFINEMENTS):
        charge(size)
        keys: dict[tuple, int] = {}
        refined = [
            keys.setdefault((classes[p], frozenset((t, classes[q]) for t, q in moves[p])), len(keys))
            for p in range(len(closures))
        ]
        if len(keys) == count:
            return refined
        classes, count = refined, len(keys)
    return list(range(len(closures)))


def _fused_dfa(
    name: str, by_origin: dict[str, list[Sequence[Symbol]]], kinds: dict[str, tuple[str, frozenset]],
    dfas: dict[str, ByteDFA],
) -> ByteDFA | None:
    """The byte DFA of nonterminal `name`, or None when it is not lexical or too big."""
    nfa = _NFA(by_origin, kinds)
    try:
        entry = nfa.fragment(name, _FINAL)
    except _TooBig:
        return None
    closures = [nfa.closure(p) for p in range(len(nfa.moves))]
    edges = [(term, q) for p in range(len(nfa.moves)) for term, q in nfa.moves[p]]
    edge_index = {edge: i for i, edge in enumerate(edges)}
    for term, q in edges:
        if not dfas[term].acyclic and any(nfa.moves[r] for r in closures[q]):
            return None  # an unbounded terminal with more input after it: keep it shared
    sizes = np.array([dfas[term].n_states for term, _ in edges], dtype=np.int64)
    if sizes.sum() > _MAX_ELEMENTS:
        return None
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    step = np.concatenate(
        [np.where(dfas[t].trans >= 0, dfas[t].trans.astype(np.int64) + off, -1) for (t, _), off in zip(edges, offsets)]
    )
    # elements with the same future (equal sub-automata, then equivalent positions) become one:
    # the per-character terminals of a key trie then share their escape and UTF-8 states
    future = _position_classes(nfa, closures)
    canon: dict[tuple, int] = {}
    same = np.zeros(int(sizes.sum()), dtype=np.int64)
    for (t, q), offset, size in zip(edges, offsets.tolist(), sizes.tolist()):
        for s in range(size):
            charge(1)  # a signature: tens of microseconds
            same[offset + s] = canon.setdefault((dfas[t].signature(s) or (t, s), future[q]), offset + s)
    step = np.where(step >= 0, same[np.maximum(step, 0)], -1)
    accepting = np.concatenate([dfas[t].accept for t, _ in edges])
    target = np.repeat([q for _, q in edges], sizes)
    starts = [frozenset(int(same[offsets[edge_index[move]]]) for move in _closure_moves(nfa, c)) for c in closures]
    finals = [_FINAL in c for c in closures]

    def expand(elements: set[int]) -> frozenset[int]:
        out = set(elements)
        for e in elements:
            if accepting[e]:
                out |= starts[target[e]]
        return frozenset(out)

    distinct = step[np.unique(same)]
    first_byte, byte_class = row_classes(distinct.T)
    initial = starts[entry]
    ids = {initial: 0}
    order = [initial]
    rows: list[np.ndarray] = []
    while len(rows) < len(order):
        elements = np.fromiter(order[len(rows)], dtype=np.int64)
        charge(1 + len(elements) * len(first_byte) // _CELLS_A_UNIT)  # a state of thousands of elements is no unit
        lut = np.full(len(first_byte), -1, dtype=np.int32)
        for k, column in enumerate(step[elements][:, first_byte].T.tolist()):
            alive = {e for e in column if e >= 0}
            if not alive:
                continue
            key = expand(alive)
            state = ids.get(key)
            if state is None:
                if len(order) >= _MAX_STATES:
                    return None
                charge(1)
                state = ids[key] = len(order)
                order.append(key)
            lut[k] = state
        rows.append(lut[byte_class])
    accept = np.array([any(accepting[e] and finals[target[e]] for e in key) for key in order], dtype=bool)
    return table_dfa(np.stack(rows), accept)
