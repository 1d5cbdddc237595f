"""LALR(1) analysis of BNF rules, with its cost charged to the compile budget.

lark's own analyser is the slowest compile step on large schemas and cannot be interrupted: an
object of 200 optional properties (each state after a comma predicts every later key) took a
minute in it, with no way to stop at the compile time limit. This is the same construction
(DeRemer and Pennello: LR(0) item sets, then lookaheads through the *reads* and *includes*
relations, solved by the digraph algorithm) over integers and bit sets, every loop charged
(`limits.charge`), so a grammar past the budget raises `GrammarTooComplex` within the time limit.

Items are ints (`first item of the rule + dot`), states are numbered in order of discovery from
the root state 0 (kernel `$root_start -> . start`), terminal sets are int bit masks. No recursion:
deep rule chains (a 5,000-item `prefixItems`) cost no stack.

Example: `analyse([("start", ("A", "b")), ("b", ())], {"A"})`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.limits import charge

__all__ = ["LALRTables", "analyse", "nullable_symbols", "ROOT", "END"]

ROOT = "$root_start"
"""The root nonterminal: reducing it onto state 0 means the sentence is complete."""
END = "$END"
"""The end-of-input lookahead."""


@dataclass(frozen=True)
class LALRTables:
    """The result: per state, its shifts and gotos (symbol -> state) and reductions (lookahead ->
    rule indices); `rules[0]` is the root rule `$root_start: start`."""

    rules: tuple[tuple[str, tuple[str, ...]], ...]
    shifts: tuple[dict[str, int], ...]
    gotos: tuple[dict[str, int], ...]
    reduces: tuple[dict[str, tuple[int, ...]], ...]
    kernels: tuple[tuple[tuple[int, int], ...], ...]
    """Per state, its kernel items as (rule index, dot)."""
    end_state: int
    """The state after `start` is read from state 0 (where `$END` is accepted)."""


def analyse(rules: Iterable[tuple[str, tuple[str, ...]]], terminals: Iterable[str]) -> LALRTables:
    """The LALR(1) tables of `rules` ((lhs, rhs) pairs, start symbol `start`; a symbol is a terminal
    if in `terminals`), every conflict kept: a reduction is listed for each lookahead LALR(1)
    allows, whether the state also shifts it or reduces another rule."""
    all_rules = ((ROOT, ("start",)), *rules)
    return _Analysis(all_rules, frozenset(terminals)).tables()


class _Analysis:
    def __init__(self, rules: Sequence[tuple[str, tuple[str, ...]]], terminals: frozenset[str]) -> None:
        self.rules = tuple(rules)
        charge(len(self.rules) + sum(len(rhs) for _, rhs in self.rules))
        self.by_lhs: dict[str, list[int]] = {}
        for r, (lhs, _) in enumerate(self.rules):
            self.by_lhs.setdefault(lhs, []).append(r)
        for lhs, rhs in self.rules:
            for sym in rhs:
                if sym not in terminals and sym not in self.by_lhs:
                    raise MalformedGrammar(f"rule {lhs} uses {sym}, which is neither a terminal nor a rule")
        self.first_item: list[int] = []  # item ids: first_item[r] + dot
        self.item_rule: list[int] = []
        self.item_next: list[str | None] = []
        for r, (_, rhs) in enumerate(self.rules):
            self.first_item.append(len(self.item_rule))
            self.item_rule.extend([r] * (len(rhs) + 1))
            self.item_next.extend(rhs)
            self.item_next.append(None)
        self.nullable = nullable_symbols(self.rules)
        self.states: list[tuple[int, ...]] = []  # kernels
        self.moves: list[dict[str, int]] = []  # symbol -> state
        self.completed: list[list[int]] = []  # rules reducible in each state

    # -- LR(0) --------------------------------------------------------------------------------

    def lr0(self) -> None:
        """Item sets by breadth-first search from the root kernel; the closure is walked per state
        (each nonterminal predicted once) and only kernels are kept."""
        index: dict[tuple[int, ...], int] = {(0,): 0}
        self.states.append((0,))
        first_item, item_next, rules, by_lhs = self.first_item, self.item_next, self.rules, self.by_lhs
        q = 0
        while q < len(self.states):
            kernel = self.states[q]
            groups: dict[str, list[int]] = {}
            done: list[int] = []
            predicted: set[str] = set()
            todo: list[str] = []
            work = len(kernel)
            for item in kernel:
                sym = item_next[item]
                if sym is None:
                    done.append(self.item_rule[item])
                    continue
                groups.setdefault(sym, []).append(item + 1)
                if sym in by_lhs and sym not in predicted:
                    predicted.add(sym)
                    todo.append(sym)
            while todo:
                alternatives = by_lhs[todo.pop()]
                work += len(alternatives)
                for r in alternatives:
                    rhs = rules[r][1]
                    if not rhs:
                        done.append(r)
                        continue
                    sym = rhs[0]
                    groups.setdefault(sym, []).append(first_item[r] + 1)
                    if sym in by_lhs and sym not in predicted:
                        predicted.add(sym)
                        todo.append(sym)
            charge(work + len(groups))
            moves: dict[str, int] = {}
            for sym, items in groups.items():
                target = tuple(sorted(items))
                t = index.get(target)
                if t is None:
                    t = index[target] = len(self.states)
                    self.states.append(target)
                moves[sym] = t
            self.moves.append(moves)
            self.completed.append(done)
            q += 1

    # -- lookaheads ---------------------------------------------------------------------------

    def tables(self) -> LALRTables:
        self.lr0()
        shifts = tuple({s: t for s, t in moves.items() if s not in self.by_lhs} for moves in self.moves)
        gotos = tuple({s: t for s, t in moves.items() if s in self.by_lhs} for moves in self.moves)
        terminals = sorted({sym for row in shifts for sym in row} | {END})
        bit = {name: 1 << k for k, name in enumerate(terminals)}
        # nonterminal transitions (p, A), numbered in state order; per state, symbol -> number
        number: list[dict[str, int]] = []
        count = 0
        for goto_row in gotos:
            number.append({sym: count + k for k, sym in enumerate(goto_row)})
            count += len(goto_row)
        charge(count)
        includes, lookback = self._includes(gotos, number, count)
        follow = _digraph(includes, self._read_sets(shifts, gotos, number, bit))
        reduces: list[dict[str, tuple[int, ...]]] = []
        for q, done in enumerate(self.completed):
            row: dict[str, list[int]] = {}
            for r in done:
                bits = 0
                for t in lookback.get((q, r), ()):
                    bits |= follow[t]
                charge(1 + bits.bit_count())
                while bits:
                    low = bits & -bits
                    row.setdefault(terminals[low.bit_length() - 1], []).append(r)
                    bits ^= low
            reduces.append({name: tuple(rs) for name, rs in row.items()})
        item_rule, first_item = self.item_rule, self.first_item
        kernels = tuple(tuple((item_rule[i], i - first_item[item_rule[i]]) for i in kernel) for kernel in self.states)
        return LALRTables(self.rules, shifts, gotos, tuple(reduces), kernels, gotos[0][self.rules[0][1][0]])

    def _read_sets(self, shifts: Sequence[dict[str, int]], gotos: Sequence[dict[str, int]],
                   number: list[dict[str, int]], bit: dict[str, int]) -> list[int]:
        """Read(p, A): the terminals that can follow A from p, after any nullable nonterminals.
        The direct part and the *reads* edges depend only on the state A leads to, so are
        computed once per state."""
        per_state: dict[int, tuple[int, list[int]]] = {}
        direct: list[int] = []
        reads: list[list[int]] = []
        nullable = self.nullable
        for row in gotos:
            for q in row.values():
                known = per_state.get(q)
                if known is None:
                    bits = 0
                    for sym in shifts[q]:
                        bits |= bit[sym]
                    known = per_state[q] = (bits, [number[q][sym] for sym in gotos[q] if sym in nullable])
                    charge(1 + len(shifts[q]) + len(gotos[q]))
                direct.append(known[0])
                reads.append(known[1])
        direct[number[0][self.rules[0][1][0]]] |= bit[END]
        return _digraph(reads, direct)

    def _includes(self, gotos: Sequence[dict[str, int]], number: list[dict[str, int]],
                  count: int) -> tuple[list[list[int]], dict[tuple[int, int], list[int]]]:
        """The *includes* edges between nonterminal transitions, and the *lookback* ones: for each
        transition (p, B) and each rule B -> X1..Xk, the path p -X1-> .. -Xk-> q from p; (q, rule)
        looks back to (p, B), and (state before Xi, Xi) includes (p, B) when Xi+1..Xk are nullable."""
        includes: list[list[int]] = [[] for _ in range(count)]
        lookback: dict[tuple[int, int], list[int]] = {}
        suffix_nullable = self._suffix_nullable()
        moves, rules, first_item, by_lhs = self.moves, self.rules, self.first_item, self.by_lhs
        size = {lhs: sum(len(rules[r][1]) + 1 for r in alternatives) for lhs, alternatives in by_lhs.items()}
        t = 0
        for p, row in enumerate(gotos):
            for lhs in row:
                charge(size[lhs])
                for r in by_lhs[lhs]:
                    rhs = rules[r][1]
                    state = p
                    item = first_item[r] + 1
                    for sym in rhs:
                        if suffix_nullable[item] and sym in by_lhs:
                            includes[number[state][sym]].append(t)
                        state = moves[state][sym]
                        item += 1
                    lookback.setdefault((state, r), []).append(t)
                t += 1
        return includes, lookback

    def _suffix_nullable(self) -> list[bool]:
        """Per item: is everything after its dot nullable?"""
        out = [False] * len(self.item_rule)
        for r, (_, rhs) in enumerate(self.rules):
            base = self.first_item[r]
            ok = True
            out[base + len(rhs)] = True
            for i in range(len(rhs) - 1, -1, -1):
                ok = ok and rhs[i] in self.nullable
                out[base + i] = ok
        return out


def nullable_symbols(rules: Sequence[tuple[str, tuple[str, ...]]]) -> frozenset[str]:
    """Nonterminals that derive the empty string: a worklist over rules counting, per rule, the
    occurrences of symbols not yet known nullable (linear in the grammar). A symbol with no rule
    (a terminal) is never nullable."""
    charge(len(rules))
    waiting = [len(rhs) for _, rhs in rules]
    users: dict[str, list[int]] = {}
    for r, (_, rhs) in enumerate(rules):
        for sym in rhs:
            users.setdefault(sym, []).append(r)
    nullable: set[str] = set()
    todo = [lhs for lhs, rhs in rules if not rhs]
    while todo:
        sym = todo.pop()
        if sym in nullable:
            continue
        nullable.add(sym)
        for r in users.get(sym, ()):
            waiting[r] -= 1
            if waiting[r] == 0:
                todo.append(rules[r][0])
    return frozenset(nullable)


def _digraph(edges: list[list[int]], base: list[int]) -> list[int]:
    """F(x) = base(x) | F(y) for every edge x -> y, each strongly connected component sharing one
    set: DeRemer and Pennello's digraph algorithm (Tarjan's), iterative, linear in nodes plus edges."""
    done = len(base) + 1
    depth = [0] * len(base)
    result = list(base)
    stack: list[int] = []
    for root in range(len(base)):
        if depth[root]:
            continue
        charge(1 + len(edges[root]))  # each node is a root once or reached once: charged either way
        stack.append(root)
        depth[root] = len(stack)
        work = [[root, 0, len(stack)]]
        while work:
            frame = work[-1]
            x, k = frame[0], frame[1]
            if k < len(edges[x]):
                frame[1] = k + 1
                y = edges[x][k]
                if depth[y] == 0:
                    charge(1 + len(edges[y]))
                    stack.append(y)
                    depth[y] = len(stack)
                    work.append([y, 0, len(stack)])
                    continue
                depth[x] = min(depth[x], depth[y])
                result[x] |= result[y]
                continue
            work.pop()
            if depth[x] == frame[2]:  # x is the root of its component: close it
                while True:
                    top = stack.pop()
                    depth[top] = done
                    result[top] = result[x]
                    if top == x:
                        break
            if work:
                parent = work[-1][0]
                depth[parent] = min(depth[parent], depth[x])
                result[parent] |= result[x]
    return result
