"""Shortest completion from an LR stack: tables built once per grammar, a stack unwound in linear time.

The decode loop asks for the shortest way to finish at every step (its termination guarantee), so
this must be table lookups, not a search: a search over whole stacks is exponential where "any
JSON value" rules recurse. Costs are in bytes, a special token counting one.

- **Shortest yields.** Each nonterminal's cheapest derivation, a fixed point by Knuth's
  generalisation of Dijkstra to context-free grammars: a rule's cost is known once every symbol of
  its right-hand side is, and the cheapest rule whose symbols are all known is final for its
  left-hand side. A terminal costs its automaton's shortest string (`ByteDFA.shortest_from(0)`).
- **Per state.** After a nonterminal `A` is reduced onto state `q`, the parser goes on with the
  items of `q` whose dot is before `A`: a predicted item `B → ·A β` finishes with `β` and reduces
  `B` onto `q` again; a kernel item `C → α·A δ` finishes with `δ` and reduces `C` |α| states further
  down. A small Dijkstra inside `q` gives, for each `A`, the cheapest way out through each kernel
  item (built on first use; at most one per state).
- **Unwinding.** A kernel item `C → α·β` of the top state costs yield(β), then `C` is reduced |α|
  states down, where the state's table says which kernel item to finish next, and so on down to
  the root item of state 0. The cost of finishing once `C` is reduced onto a level depends only
  on the stack up to that level, so it is kept per level, one per stack (by its serial): a decode
  step, whose stack shares all but its top with the last one, builds a level or two, and a
  fresh stack costs a table per level, linear in its depth. (Predicted items of the top state
  never beat the kernel item that predicted them.)

Every stack the recogniser builds is a path of the LR(0) automaton, so it spells a viable prefix
and each chain of items above is a real rightmost derivation: the text is a valid continuation,
which the recogniser (every LALR action kept) accepts.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from a3agent.grammars.engine.automata import TerminalDFA

from a3agent.grammars.engine.lr import ROOT, LRTable, Stack

__all__ = ["Completer", "Piece", "Plan"]

Piece = bytes | int
"""A piece of forced or completion text: ordinary bytes, or a special token id."""
Cost = int | float
"""Bytes plus special tokens; `math.inf` where nothing can be derived."""
Plan = tuple[tuple[str, ...], ...]
"""Symbol sequences whose shortest yields, in order, spell a completion."""

_INF = math.inf
_MAX_LEVELS = 20_000
"""Stack levels kept; past it they are built afresh (bounded memory)."""
_TAIL_CACHE_SIZE = 64
"""Terminal tails kept (each at most `Limits.shortest_text` bytes)."""


@dataclass(frozen=True)
class _Exit:
    cost: Cost
    """From "A reduced onto this state" to the end of the kernel item (its rest included)."""
    pop: int
    """The kernel item's dot: how many states its left-hand side is reduced below this one."""
    lhs: str
    key: int
    """Index of the (pop, lhs) group whose back pointers spell the path."""


@dataclass(frozen=True)
class _StateTable:
    tops: tuple[tuple[Cost, int, str, tuple[str, ...]], ...]
    """(cost of the rest, pop, lhs, rest) per kernel item whose rest is derivable."""
    exits: dict[str, tuple[_Exit, ...]]
    """Per nonterminal reducible onto the state: the cheapest way out per (pop, lhs)."""
    back: tuple[dict[str, tuple[str, tuple[str, ...]]], ...]
    """Per group, per nonterminal: (where it goes next, the symbols to yield on the way); where
    it goes is "" once the kernel item is finished."""


class _Level:
    """One level of a stack: shared by every stack built on it."""

    __slots__ = ("parent", "state", "best")

    def __init__(self, parent: _Level | None, state: int) -> None:
        self.parent = parent
        self.state = state
        self.best: dict[str, tuple[Cost, _Exit]] = {}
        """U(C): the cheapest way to finish once C is reduced onto this level, and its exit."""


def _ancestor(level: _Level | None, up: int) -> _Level | None:
    for _ in range(up):
        if level is None:
            return None
        level = level.parent
    return level


def _below(level: _Level, pop: int, lhs: str) -> Cost:
    """What finishing costs once `lhs` is reduced `pop` levels below `level`."""
    target = _ancestor(level, pop)
    if target is None:
        return _INF
    if lhs == ROOT:
        return 0 if target.parent is None else _INF
    entry = target.best.get(lhs)
    return _INF if entry is None else entry[0]


class Completer:
    """Shortest completions over one LR table, its terminals' automata and its special terminals
    (token ids); tables are built lazily and memoised."""

    def __init__(self, table: LRTable, dfas: Mapping[str, TerminalDFA], specials: Mapping[str, int]) -> None:
        self.table = table
        self._dfas = dfas
        self._specials = specials
        self._nonterminals = table.nonterminals
        self._pieces: dict[str, Piece | None] = {}
        self._tails: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._by_lhs: dict[str, list[int]] = {}
        for i, (lhs, _) in enumerate(table.rules):
            self._by_lhs.setdefault(lhs, []).append(i)
        self._yield, self._best = self._shortest_yields()
        self._states: dict[int, _StateTable] = {}
        self._levels: dict[int, _Level] = {}
        """Levels by stack serial (serials are never reused)."""

    # -- shortest yields (once per grammar) ------------------------------------------------------

    def _piece(self, terminal: str) -> Piece | None:
        """A terminal's cheapest spelling: its special id, or its automaton's shortest string."""
        if terminal not in self._pieces:
            dfa = self._dfas.get(terminal)
            special = self._specials.get(terminal)
            self._pieces[terminal] = special if special is not None else None if dfa is None else dfa.shortest_from(0)
        return self._pieces[terminal]

    def tail(self, terminal: str, state: int) -> bytes:
        """The shortest bytes from `state` of `terminal` to acceptance. A text that follows the
        tail one byte at a time (a long key being written) finds each next tail cached, as the
        rest of the last one: a shortest path's suffix is a shortest path."""
        key = (terminal, state)
        out = self._tails.get(key)
        if out is None:
            out = self._dfas[terminal].shortest_from(state)
            self._remember(key, out)
        if out:
            nxt = self._dfas[terminal].rows[state][out[0]]
            if (terminal, nxt) not in self._tails:
                self._remember((terminal, nxt), out[1:])
        return out

    def _remember(self, key: tuple[str, int], tail: bytes) -> None:
        self._tails[key] = tail
        if len(self._tails) > _TAIL_CACHE_SIZE:
            self._tails.popitem(last=False)

    def _terminal_cost(self, terminal: str) -> Cost:
        piece = self._piece(terminal)
        return _INF if piece is None else 1 if isinstance(piece, int) else len(piece)

    def _shortest_yields(self) -> tuple[dict[str, Cost], dict[str, int]]:
        """Knuth's algorithm: each nonterminal's cheapest yield and the rule that gives it."""
        rules = self.table.rules
        partial: list[Cost] = []
        pending: list[int] = []
        uses: dict[str, list[int]] = {}
        heap: list[tuple[Cost, int]] = []
        for i, (_, rhs) in enumerate(rules):
            known: Cost = 0
            open_ = 0
            for sym in rhs:
                if sym in self._nonterminals:
                    open_ += 1
                    uses.setdefault(sym, []).append(i)
                else:
                    known += self._terminal_cost(sym)
            partial.append(known)
            pending.append(open_)
            if not open_ and known < _INF:
                heap.append((known, i))
        heapq.heapify(heap)
        cost: dict[str, Cost] = {}
        best: dict[str, int] = {}
        while heap:
            c, i = heapq.heappop(heap)
            lhs = rules[i][0]
            if lhs in cost:
                continue
            cost[lhs], best[lhs] = c, i
            for j in uses.get(lhs, ()):
                partial[j] += c
                pending[j] -= 1
                if not pending[j] and partial[j] < _INF and rules[j][0] not in cost:
                    heapq.heappush(heap, (partial[j], j))
        return cost, best

    def _cost(self, symbols: tuple[str, ...]) -> Cost:
        return sum(
            self._yield.get(s, _INF) if s in self._nonterminals else self._terminal_cost(s) for s in symbols
        )

    # -- per-state tables (once per state, on first use) -------------------------------------------

    def _state(self, q: int) -> _StateTable:
        table = self._states.get(q)
        if table is None:
            table = self._states[q] = self._build_state(q)
        return table

    def _build_state(self, q: int) -> _StateTable:
        rules, nts = self.table.rules, self._nonterminals
        kernel = self.table.kernels[q]
        tops = []
        for r, dot in kernel:
            lhs, rhs = rules[r]
            rest = rhs[dot:]
            c = self._cost(rest)
            if c < _INF:
                tops.append((c, dot, lhs, rest))
        # the closure: every rule predicted from a nonterminal after a kernel dot, by first symbols
        into: dict[str, list[int]] = {}  # B -> predicted rules B → A β with A a nonterminal
        seen: set[str] = set()
        todo = [rules[r][1][dot] for r, dot in kernel if dot < len(rules[r][1]) and rules[r][1][dot] in nts]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for p in self._by_lhs.get(name, ()):
                rhs = rules[p][1]
                if rhs and rhs[0] in nts:
                    into.setdefault(name, []).append(p)
                    todo.append(rhs[0])
        # one backward Dijkstra per (pop, lhs) group of kernel items with a nonterminal after the dot
        groups: dict[tuple[int, str], list[tuple[str, tuple[str, ...]]]] = {}
        for r, dot in kernel:
            lhs, rhs = rules[r]
            if dot < len(rhs) and rhs[dot] in nts:
                groups.setdefault((dot, lhs), []).append((rhs[dot], rhs[dot + 1 :]))
        exits: dict[str, list[_Exit]] = {}
        backs = []
        for key, ((pop, lhs), sources) in enumerate(groups.items()):
            dist: dict[str, Cost] = {}
            back: dict[str, tuple[str, tuple[str, ...]]] = {}
            heap: list[tuple[Cost, str]] = []
            for name, rest in sources:
                c = self._cost(rest)
                if c < dist.get(name, _INF):
                    dist[name], back[name] = c, ("", rest)
                    heapq.heappush(heap, (c, name))
            done: set[str] = set()
            while heap:
                d, name = heapq.heappop(heap)
                if name in done:
                    continue
                done.add(name)
                exits.setdefault(name, []).append(_Exit(d, pop, lhs, key))
                for p in into.get(name, ()):  # name → A β, predicted: A reduced here leads to name
                    first, rest = rules[p][1][0], rules[p][1][1:]
                    nd = d + self._cost(rest)
                    if nd < dist.get(first, _INF):
                        dist[first], back[first] = nd, (name, rest)
                        heapq.heappush(heap, (nd, first))
            backs.append(back)
        return _StateTable(tuple(tops), {name: tuple(e) for name, e in exits.items()}, tuple(backs))

    # -- unwinding a stack ---------------------------------------------------------------------------

    def _level(self, stack: Stack) -> _Level:
        """The level of `stack`, building those of it and the stacks below not built before (each once)."""
        if len(self._levels) > _MAX_LEVELS:
            self._levels.clear()
        unbuilt: list[Stack] = []
        node: Stack | None = stack
        level: _Level | None = None
        while node is not None:
            level = self._levels.get(node[0])
            if level is not None:
                break
            unbuilt.append(node)
            node = node[2]
        for serial, state, _ in reversed(unbuilt):
            level = self._levels[serial] = self._new_level(level, state)
        assert level is not None
        return level

    def _new_level(self, parent: _Level | None, q: int) -> _Level:
        """U(level, C) for every nonterminal C reducible onto state q: its cheapest exit plus what
        the exit's left-hand side costs that many levels down (already built)."""
        level = _Level(parent, q)
        for name, exits in self._state(q).exits.items():
            cost: Cost = _INF
            chosen: _Exit | None = None
            for e in exits:
                c = e.cost + _below(level, e.pop, e.lhs)
                if c < cost:
                    cost, chosen = c, e
            if chosen is not None:
                level.best[name] = (cost, chosen)
        return level

    def cost(self, stack: Stack) -> Cost:
        """The cost of the shortest completion from `stack`.

        Work: a table for each level of the stack not seen before (bounded by the grammar; a
        stack seen but for its top costs one), then one lookup per kernel item of the top."""
        return self._cheapest(stack)[0]

    def _cheapest(self, stack: Stack) -> tuple[Cost, tuple[str, ...], int, str, _Level]:
        """(cost, rest, pop, lhs) of the top's cheapest kernel item, and the stack's level."""
        node = self._level(stack)
        best: tuple[Cost, tuple[str, ...], int, str] = (_INF, (), 0, ROOT)
        for c, pop, lhs, rest in self._state(stack[1]).tops:
            total = c + _below(node, pop, lhs)
            if total < best[0]:
                best = (total, rest, pop, lhs)
        return (*best, node)

    def plan(self, stack: Stack) -> Plan:
        """The symbol sequences that spell the shortest completion from `stack` (`cost` of them):
        one entry per item finished on the way down, so linear in the depth it unwinds."""
        total, rest, pop, lhs, node = self._cheapest(stack)
        if total == _INF:
            return ()
        plan = [rest]
        level = _ancestor(node, pop)
        while lhs != ROOT:  # follow the choices down the stack
            assert level is not None, "a finite cost reduces only into levels the stack has"
            e = level.best[lhs][1]
            back = self._state(level.state).back[e.key]
            name = lhs
            while name:
                name, symbols = back[name]
                plan.append(symbols)
            level, lhs = _ancestor(level, e.pop), e.lhs
        return tuple(plan)

    def pieces(self, plan: Plan, prefix: bytes = b"") -> list[Piece]:
        """`prefix`, then the text of a plan: each symbol's shortest yield, bytes runs joined.

        Nonterminals that yield nothing are skipped, so every rule expanded writes something:
        the work is the output length times the longest chain of unit rules."""
        out: list[Piece] = []
        run = bytearray(prefix)
        todo = [sym for symbols in reversed(plan) for sym in reversed(symbols)]
        rules = self.table.rules
        while todo:
            sym = todo.pop()
            if sym in self._nonterminals:
                if self._yield[sym]:
                    todo.extend(reversed(rules[self._best[sym]][1]))
                continue
            piece = self._piece(sym)
            assert piece is not None, "a finite plan holds only terminals that have a spelling"
            if isinstance(piece, int):
                if run:
                    out.append(bytes(run))
                    run.clear()
                out.append(piece)
            else:
                run.extend(piece)
        if run:
            out.append(bytes(run))
        return out
