"""Small pieces of lark grammar text: terminals, names, and right-linear rule sets.

Everything the schema compiler writes goes through here, so quoting rules live in one place:
a fixed string becomes a lark string literal, anything else a `/regex/` in the engine's subset.
`linear_rules` writes a finite automaton over grammar symbols (object members, array items,
DFAs of number texts) as lark rules, turning self-loops into `*` and inlining single uses.

Not handled here: what the automata are (`json_schema`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from importlib import resources
from typing import TypeVar

from a3agent.grammars.engine.limits import charge
from a3agent.grammars.regex.char_regex import Chars, Regex, Seq, to_pattern

__all__ = ["lark_string", "terminal_text", "RuleNames", "linear_rules", "co_reachable", "load_lark"]

_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def lark_string(text: str) -> str:
    """A lark string literal for exactly `text`. Example: `lark_string('a"b')` is `"a\\"b"`."""
    out = []
    for ch in text:
        if ch in _STRING_ESCAPES:
            out.append(_STRING_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) > 0x7F and ord(ch) <= 0xFFFF and not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _fixed_text(r: Regex) -> str | None:
    """The one string `r` matches, if it matches exactly one."""
    items = r.items if isinstance(r, Seq) else (r,)
    single = [x for x in items if isinstance(x, Chars) and x.size() == 1]
    if not items or len(single) != len(items):
        return None
    return "".join(chr(x.ranges[0][0]) for x in single)


def terminal_text(r: Regex) -> str:
    """An anonymous lark terminal for `r` (a string literal when `r` is one fixed string)."""
    text = _fixed_text(r)
    return lark_string(text) if text is not None else f"/{to_pattern(r)}/"


class RuleNames:
    """Hands out unique lowercase rule names derived from hints."""

    def __init__(self, taken: Iterable[str]) -> None:
        self._taken = set(taken)
        self._next: dict[str, int] = {}
        """Per base name, the suffix to try next: 5,000 `item` rules cost 5,000 tries, not 5,000^2/2."""

    def fresh(self, hint: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_") or "value"
        if not base[0].isalpha():
            base = "v_" + base
        name, n = base, self._next.get(base, 1)
        if n > 1:
            name = f"{base}_{n}"
        while name in self._taken:
            n += 1
            name = f"{base}_{n}"
        self._taken.add(name)
        self._next[base] = n + 1
        return name


_S = TypeVar("_S", bound=Hashable)
Transition = tuple[str, _S]
"""(symbols, target state): the symbols (lark text, may be empty) then the target."""
Moves = Mapping[_S, list[Transition[_S]]]
"""The transitions out of each state."""


def linear_rules(
    start: _S,
    transitions: Moves[_S],
    finals: AbstractSet[_S],
    name: str,
    names: RuleNames,
    rules: dict[str, str],
) -> str | None:
    """Write an automaton over grammar symbols as rules; returns the expression for `start`.

    Symbols must not contain a bare top-level `|`. None when no final state is reachable.
    Only plain chains (one way on, used once, on no cycle) are inlined; every state that branches
    gets its own rule, because lark expands each `?`, `*` and `|` group of a rule into separate
    productions, so nesting them multiplies the productions.
    """
    live = co_reachable(transitions, finals)
    if start not in live:
        return None
    moves = {s: [(sym, t) for sym, t in transitions.get(s, []) if t in live] for s in live}
    reachable = _reachable(start, moves)
    charge(len(reachable))
    uses = Counter(t for r in reachable for _, t in moves[r] if t != r)
    trivial = _trivial_states(moves, finals)
    cyclic = _on_cycles(reachable, moves)
    named = [s for s in reachable if s not in trivial and (
        _branches(s, moves[s], finals) or uses[s] > 1 or (uses[s] and (s == start or s in cyclic)))]
    rule_names = {s: names.fresh(name) for s in named}
    inline: dict[_S, str] = {}

    def render(state: _S) -> str:
        """Inline states form chains (one move each); they are written from the chain's end back,
        without recursion, so a chain of 5,000 items costs no stack."""
        chain, current = [], state
        while current not in rule_names and current not in inline:
            chain.append(current)
            onward = [t for _, t in moves[current] if t != current]
            if len(onward) != 1:
                break
            current = onward[0]
        for link in reversed(chain):
            inline[link] = _render_state(link, moves[link], link in finals, render)
        return rule_names[state] if state in rule_names else inline[state]

    for state, rule in rule_names.items():
        rules[rule] = _render_state(state, moves[state], state in finals, render)
    return render(start)


def co_reachable(transitions: Moves[_S], finals: AbstractSet[_S]) -> set[_S]:
    """The states from which some final state is reachable (backwards from the finals)."""
    sources: defaultdict[_S, set[_S]] = defaultdict(set)
    for state, moves in transitions.items():
        for _, target in moves:
            sources[target].add(state)
    live, todo = set(finals), list(finals)
    while todo:
        for source in sources[todo.pop()] - live:
            live.add(source)
            todo.append(source)
    return live


def _reachable(start: _S, moves: Moves[_S]) -> list[_S]:
    order, seen, todo = [start], {start}, [start]
    while todo:
        for _, target in moves[todo.pop()]:
            if target not in seen:
                seen.add(target)
                order.append(target)
                todo.append(target)
    return order


def _branches(state: _S, moves: list[Transition[_S]], finals: AbstractSet[_S]) -> bool:
    """Whether the state's body has an alternative, an option or a loop."""
    return state in finals or len(moves) > 1 or any(target == state for _, target in moves)


def _trivial_states(moves: Moves[_S], finals: AbstractSet[_S]) -> set[_S]:
    """States not worth a rule: the end (final, no moves) and one symbol followed by the end."""
    ends = {s for s, m in moves.items() if not m and s in finals}
    return ends | {s for s, m in moves.items() if s not in finals and len(m) == 1 and m[0][1] in ends}


def _on_cycles(states: list[_S], moves: Moves[_S]) -> set[_S]:
    """The states that reach themselves through at least one other state: those in a strongly
    connected component of two or more (Kosaraju, iterative: linear in the automaton)."""
    order: list[_S] = []
    seen: set[_S] = set()
    for root in states:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(moves[root]))]
        while stack:
            state, rest = stack[-1]
            for _, target in rest:
                if target not in seen:
                    seen.add(target)
                    stack.append((target, iter(moves[target])))
                    break
            else:
                stack.pop()
                order.append(state)
    sources: defaultdict[_S, list[_S]] = defaultdict(list)
    for state in states:
        for _, target in moves[state]:
            sources[target].append(state)
    component: dict[_S, int] = {}
    sizes: list[int] = []
    for root in reversed(order):
        if root in component:
            continue
        component[root], todo = len(sizes), [root]
        sizes.append(0)
        while todo:
            sizes[-1] += 1
            for source in sources[todo.pop()]:
                if source not in component:
                    component[source] = len(sizes) - 1
                    todo.append(source)
    return {state for state in states if sizes[component[state]] > 1}


def _render_state(state: _S, moves: list[Transition[_S]], final: bool, render: Callable[[_S], str]) -> str:
    loops = [symbols for symbols, target in moves if target == state]
    options = list(dict.fromkeys(
        " ".join(x for x in (symbols, render(target)) if x) for symbols, target in moves if target != state))
    nullable = final or "" in options
    options = [o for o in options if o]
    if len(options) == 1 and not nullable:
        tail = options[0]
    else:
        tail = f"({' | '.join(options)})" + ("?" if nullable else "") if options else ""
    loop = f"({' | '.join(dict.fromkeys(loops))})*" if loops else ""
    return " ".join(x for x in (loop, tail) if x)


def load_lark(package: str, name: str) -> str:
    """The text of the `.lark` file `name` shipped in `package` (e.g. `a3agent.grammars.schema`)."""
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
