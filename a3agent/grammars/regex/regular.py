"""Regular-language algebra for the schema compiler: intersection, complement, emptiness.

JSON Schema combines string constraints freely (`pattern` with `maxLength`, `not: {pattern}`, key
regions of `patternProperties`, `multipleOf` within a range); the engine wants one regex per
terminal. So constraints go to DFAs (interegular), are combined there, and come back as a regex by
state elimination (Brzozowski-McCluskey). State elimination can blow up, hence `max_size`.

Not handled here: what the constraints mean (`string_sets`, `number_text`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, cast

from interegular.fsm import FSM, Alphabet, State, TransitionKey, anything_else

from a3agent.grammars.engine.limits import charge, check_count
from a3agent.grammars.regex.char_regex import (
    EMPTY,
    MAX_CHAR,
    NOTHING,
    Alt,
    Chars,
    Regex,
    Repeat,
    Seq,
    alt,
    char_set,
    chars,
    complement,
    repeat,
    seq,
)
from a3agent.grammars.regex.error_path import current_path

__all__ = [
    "TooComplex", "to_fsm", "from_fsm", "regex_size", "intersect", "everything_but", "fsm_from_table", "dfa_edges",
    "minimal",
]

DEFAULT_MAX_SIZE = 4000
MAX_STATES = 64
MAX_PRODUCT_STATES = 4000


class TooComplex(ValueError):
    """The combined language has no regex of reasonable size."""


def _symbols() -> Alphabet:
    return Alphabet({anything_else: TransitionKey(0)})


def to_fsm(r: Regex) -> FSM:
    """A DFA for `r` (full match), built whole: GrammarTooComplex (at the path being compiled)
    past `schema_dfa_states` NFA or DFA states, so `[ab]*a[ab]{20}` is refused, not expanded."""
    if r == NOTHING:
        return FSM(_symbols(), {0}, 0, set(), {0: {0: 0}})
    if r == EMPTY:
        return FSM(_symbols(), {0}, 0, {0}, {})
    nfa = _Nfa()
    nfa.build(r)
    return nfa.determinise()


class _Nfa:
    """A Thompson automaton over character classes (counted repeats unrolled, within the limit)."""

    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[Chars, int]]] = []

    def state(self) -> int:
        check_count(len(self.eps) + 1, "schema_dfa_states", current_path(), "automaton states of a string constraint")
        charge(1, current_path())
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, r: Regex) -> None:
        """States 0 (start) and 1 (accept) joined by `r`; an explicit stack, no recursion."""
        todo = [(r, self.state(), self.state())]
        while todo:
            x, a, b = todo.pop()
            if isinstance(x, Chars):
                self.edges[a].append((x, b))
            elif isinstance(x, Alt):
                todo.extend((item, a, b) for item in x.items)
            elif isinstance(x, Seq):
                points = [a] + [self.state() for _ in x.items[1:]] + [b]
                todo.extend((item, points[i], points[i + 1]) for i, item in enumerate(x.items))
                if not x.items:
                    self.eps[a].append(b)
            else:
                todo.extend(self.repeat(x, a, b))

    def repeat(self, x: Repeat, a: int, b: int) -> list[tuple[Regex, int, int]]:
        copies = x.min if x.max is None else x.max
        points = [a] + [self.state() for _ in range(copies)]
        out = [(x.item, points[i], points[i + 1]) for i in range(copies)]
        for i in range(x.min, copies + 1):
            self.eps[points[i]].append(b)
        if x.max is None:
            loop = self.state()
            self.eps[points[-1]].append(loop)
            self.eps[loop].append(b)
            out.append((x.item, loop, loop))
        return out

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        seen, todo = set(states), list(states)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)

    def determinise(self) -> FSM:
        """Subset construction over the classes of characters no edge tells apart."""
        classes = _classes([c for row in self.edges for c, _ in row])
        alphabet = _alphabet(classes)
        covers = [[(set(k for k, cls in enumerate(classes) if _within(cls, c)), t) for c, t in row] for row in self.edges]
        start = self.closure([0])
        index, todo, table, finals = {start: 0}, [start], {}, set()
        while todo:
            current = todo.pop()
            number = index[current]
            if 1 in current:
                finals.add(number)
            targets: dict[int, set[int]] = defaultdict(set)
            for state in current:
                for keys, t in covers[state]:
                    for k in keys:
                        targets[k].add(t)
            row = {}
            for k, ts in targets.items():
                target = self.closure(ts)
                if target not in index:
                    check_count(len(index) + 1, "schema_dfa_states", current_path(),
                                "automaton states of a string constraint")
                    charge(len(target), current_path())
                    index[target] = len(index)
                    todo.append(target)
                row[k] = index[target]
            table[number] = row
        return FSM(alphabet, set(index.values()), 0, finals, table, __no_validation__=True)


def _classes(sets: list[Chars]) -> list[Chars]:
    """The coarsest partition of all characters that every set in `sets` is a union of."""
    cuts = sorted({0, MAX_CHAR + 1} | {x for c in sets for lo, hi in c.ranges for x in (lo, hi + 1)})
    by_signature: dict[tuple[bool, ...], list[tuple[int, int]]] = defaultdict(list)
    for lo, end in zip(cuts, cuts[1:]):
        charge(1, current_path())
        by_signature[tuple(lo in c for c in sets)].append((lo, end - 1))
    return [chars(*ranges) for ranges in by_signature.values()]


def _within(cls: Chars, c: Chars) -> bool:
    lo = cls.ranges[0][0]
    return lo in c


def _alphabet(classes: list[Chars]) -> Alphabet:
    """interegular's alphabet: the largest class is `anything_else`, the others spelled out."""
    biggest = max(range(len(classes)), key=lambda k: classes[k].size())
    symbols: dict = {anything_else: biggest}
    for k, cls in enumerate(classes):
        if k != biggest:
            charge(cls.size(), current_path())
            symbols.update((chr(code), k) for lo, hi in cls.ranges for code in range(lo, hi + 1))
    return Alphabet(symbols)


def intersect(*fsms: FSM) -> FSM:
    """The product DFA of `fsms` (strings every one accepts), reachable states only.

    interegular's own `&` looks states up in a list, which is quadratic in the product size.
    Raises TooComplex past MAX_PRODUCT_STATES states.
    """
    alphabet, to_old = Alphabet.union(*[f.alphabet for f in fsms])
    keys = list(alphabet.by_transition)
    start = tuple(f.initial for f in fsms)
    index, todo, table, finals = {start: 0}, [start], {}, set()
    while todo:
        current = todo.pop()
        charge(len(keys) * len(fsms), current_path())
        number = index[current]
        if all(s in f.finals for s, f in zip(current, fsms)):
            finals.add(number)
        rows = [(f.map.get(s, {}), old) for s, f, old in zip(current, fsms, to_old)]
        row = {}
        for key in keys:
            found = [here.get(old[key]) for here, old in rows]
            if None in found:  # one automaton has no move on this key (`in` is faster than filtering)
                continue
            targets = cast("tuple[State, ...]", tuple(found))
            if targets not in index:
                if len(index) >= MAX_PRODUCT_STATES:
                    raise TooComplex(f"combining these constraints needs over {MAX_PRODUCT_STATES} automaton states")
                index[targets] = len(index)
                todo.append(targets)
            row[key] = index[targets]
        table[number] = row
    return FSM(alphabet, set(index.values()), 0, finals, table, __no_validation__=True)


def everything_but(fsm: FSM) -> FSM:
    """The complement of `fsm` over all strings."""
    names = {state: i for i, state in enumerate(fsm.states)}
    dead = len(names)
    keys = list(fsm.alphabet.by_transition)
    table = {names[s]: {k: names[fsm.map[s][k]] if k in fsm.map.get(s, {}) else dead for k in keys}
             for s in fsm.states}
    table[dead] = {k: dead for k in keys}
    finals = {names[s] for s in fsm.states if s not in fsm.finals} | {dead}
    return FSM(fsm.alphabet, set(table), names[fsm.initial], finals, table, __no_validation__=True)


def fsm_from_table(symbols: str, initial: object, finals: set, table: dict[object, dict[str, object]]) -> FSM:
    """A DFA from a transition table over single characters; missing entries reject.

    Example: `fsm_from_table("ab", 0, {1}, {0: {"a": 1}})` accepts exactly `a`.
    """
    alphabet = Alphabet({**{c: TransitionKey(i) for i, c in enumerate(symbols)}, anything_else: TransitionKey(len(symbols))})
    names = {state: i for i, state in enumerate(table.keys() | {initial} | set(finals))}
    for row in table.values():
        for target in row.values():
            names.setdefault(target, len(names))
    transitions = {
        names[state]: {symbols.index(c): names[target] for c, target in row.items()} for state, row in table.items()
    }
    return FSM(alphabet, set(names.values()), names[initial], {names[f] for f in finals}, transitions)


def _key_chars(fsm: FSM) -> dict[int, Chars]:
    explicit = [s for s in fsm.alphabet if s is not anything_else]
    out = {}
    for key, symbols in fsm.alphabet.by_transition.items():
        sets = [char_set("".join(s for s in symbols if s is not anything_else))]
        if anything_else in symbols:
            sets.append(complement(char_set("".join(explicit))))
        out[key] = chars(*(rg for s in sets for rg in s.ranges))
    return out


def _live_states(fsm: FSM) -> set:
    forward = defaultdict(set)
    for state, row in fsm.map.items():
        for target in row.values():
            forward[state].add(target)
    reachable, todo = {fsm.initial}, [fsm.initial]
    while todo:
        for target in forward[todo.pop()] - reachable:
            reachable.add(target)
            todo.append(target)
    backward = defaultdict(set)
    for state in reachable:
        for target in forward[state]:
            backward[target].add(state)
    live, todo = set(fsm.finals & reachable), list(fsm.finals & reachable)
    while todo:
        for source in backward[todo.pop()] - live:
            live.add(source)
            todo.append(source)
    return live


def minimal(fsm: FSM) -> FSM:
    """`fsm` on its live states with equivalent states merged (Moore's partition refinement).

    Used instead of interegular's `reduce()`, which determinises the reversed automaton twice:
    uncharged, and seconds long on the complement of a format's automaton (`not: {format: email}`).
    Each round is charged its states times transition keys, so a large automaton ends in
    `GrammarTooComplex` within the compile budget."""
    live = _live_states(fsm)
    if fsm.initial not in live:
        return FSM(fsm.alphabet, {0}, 0, set(), {0: {}}, __no_validation__=True)
    keys = list(fsm.alphabet.by_transition)
    states = [fsm.initial, *(s for s in live if s != fsm.initial)]
    index = {state: i for i, state in enumerate(states)}
    rows = [tuple(index.get(fsm.map.get(s, {}).get(k), -1) for k in keys) for s in states]
    classes = [int(s in fsm.finals) for s in states]
    count = len(set(classes))
    while True:
        charge(len(states) * len(keys), current_path())
        signatures: dict[tuple, int] = {}
        refined = [signatures.setdefault((classes[i], *(classes[t] if t >= 0 else -1 for t in row)), len(signatures))
                   for i, row in enumerate(rows)]
        if len(signatures) == count:
            break
        classes, count = refined, len(signatures)
    table: dict[int, dict] = {}
    for i, row in enumerate(rows):
        table.setdefault(classes[i], {k: classes[t] for k, t in zip(keys, row) if t >= 0})
    finals = {classes[index[s]] for s in fsm.finals if s in index}
    return FSM(fsm.alphabet, set(table), classes[0], finals, table, __no_validation__=True)


def dfa_edges(fsm: FSM) -> tuple[object, set, dict[object, dict[object, Chars]]]:
    """(initial, finals, state -> target -> characters) over the live states of `fsm`."""
    live = _live_states(fsm)
    key_chars = _key_chars(fsm)
    edges: dict[object, dict[object, Chars]] = {state: {} for state in live}
    for state in live:
        for key, target in fsm.map.get(state, {}).items():
            if target in live:
                known = edges[state].get(target)
                edges[state][target] = key_chars[key] if known is None else chars(*known.ranges, *key_chars[key].ranges)
    return fsm.initial, set(fsm.finals) & live, edges


def regex_size(r: Regex) -> int:
    """Number of nodes in the tree: a proxy for the rendered length."""
    if isinstance(r, Chars):
        return 1
    if isinstance(r, Repeat):
        return 1 + regex_size(r.item)
    return 1 + sum(regex_size(x) for x in r.items)


def from_fsm(fsm: FSM, max_size: int = DEFAULT_MAX_SIZE) -> Regex:
    """A regex for the language of `fsm`, by state elimination; TooComplex past `max_size` nodes."""
    fsm = minimal(fsm)
    live = _live_states(fsm)
    if fsm.initial not in live:
        return NOTHING
    if len(live) > MAX_STATES:
        raise TooComplex(f"the combined language needs a DFA of {len(live)} states")
    key_chars = _key_chars(fsm)
    start, end = object(), object()
    edges: dict[tuple, Regex] = {(start, fsm.initial): EMPTY}
    for state in live:
        for key, target in fsm.map.get(state, {}).items():
            if target in live:
                edges[(state, target)] = alt(edges.get((state, target), NOTHING), key_chars[key])
        if state in fsm.finals:
            edges[(state, end)] = EMPTY
    remaining = set(live)
    while remaining:
        state = min(remaining, key=lambda s: _cost(edges, s))
        remaining.discard(state)
        _eliminate(edges, state, max_size)
    return edges.get((start, end), NOTHING)


def _cost(edges: dict[tuple, Regex], state: object) -> int:
    ins = sum(1 for p, q in edges if q is state and p is not state)
    outs = sum(1 for p, q in edges if p is state and q is not state)
    return ins * outs


def _eliminate(edges: dict[tuple, Regex], state: object, max_size: int) -> None:
    loop = repeat(edges.pop((state, state), NOTHING), 0, None)
    ins = [(p, edges.pop((p, q))) for (p, q) in list(edges) if q is state]
    outs = [(q, edges.pop((p, q))) for (p, q) in list(edges) if p is state]
    for p, into in ins:
        for q, out in outs:
            joined = alt(edges.get((p, q), NOTHING), _factor(into, loop, out))
            if regex_size(joined) > max_size:
                raise TooComplex(f"the combined language needs a regex of over {max_size} nodes")
            edges[(p, q)] = joined


def _factor(into: Regex, loop: Regex, out: Regex) -> Regex:
    """into loop* out, folding `x x*` into `x+`."""
    if loop != EMPTY and isinstance(loop, Repeat) and into == loop.item:
        return seq(repeat(into, 1, None), out)
    if loop != EMPTY and isinstance(loop, Repeat) and out == loop.item:
        return seq(into, repeat(out, 1, None))
    return seq(into, loop, out)

