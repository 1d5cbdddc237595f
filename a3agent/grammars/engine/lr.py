"""A non-deterministic LALR(1) recogniser over BNF rules (lark's `Rule` objects).

`load_rules` reads grammar text into those rules (`ebnf.py`, or lark beyond its part); `lalr.py`
computes the LR(0) item sets and LALR(1) lookaheads within the compile budget. Where lark would
refuse a grammar (reduce/reduce) or silently prefer shift (shift/reduce), we keep *every* action.
Running all of them side by side is an exact recogniser for any context-free grammar without
hidden left recursion: LALR lookaheads over-approximate canonical LR ones, so no derivation is
cut, and every parse that dies is only a wrong guess. Schema-generated grammars are full of such guesses
(anyOf of objects that share a prefix), and the matcher already keeps several hypotheses.

A parser configuration is a `Stack`: the tuple `(serial, state, below)`, its top state on the
stack below it (None under the bottom state), interned per table. Pushing is O(1) at any depth,
and everything keyed by a stack is keyed by its serial, an int, never by the stack itself, whose
hash would walk it whole (a tuple of all its states, as before, was copied on every push and
hashed whole on every memo lookup, and the memos held the square of the nesting depth in states).
Being tuples of ints all the way down, stacks and the hypotheses holding them are left alone by
the garbage collector, like the rest of the memos. `feed` is memoised per (stack, terminal).

The table also keeps the grammar's rules and each state's kernel items (`rules`, `kernels`), for
the shortest-completion tables (`completion.py`), which need to know what each state is in the
middle of; the root rule `$root_start: start` is `rules[0]`, the kernel of state 0.

Not handled: grammars whose empty rules let the stack grow without reading input (refused).
"""

from __future__ import annotations

import itertools
from functools import cache

import lark.lexer
import lark.load_grammar
from lark.exceptions import LarkError
from lark.load_grammar import load_grammar
from lark.grammar import Rule
from lark.lexer import TerminalDef

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.ebnf import read_grammar
from a3agent.grammars.engine.lalr import END, ROOT, analyse
from a3agent.grammars.engine.limits import reserve

__all__ = ["LRTable", "Stack", "END", "ROOT", "lark_meta_parser", "load_rules", "stack_states"]

_MAX_REDUCTIONS = 10_000
_FEED_MEMO_SIZE = 50_000
"""(stack, terminal) pairs whose parser moves a table keeps before it starts afresh: a document
nested ever deeper brings a new stack with every bracket (about 10 MB a table at the bound, and
the compile cache keeps 16 grammars)."""
_INTERNED_STACKS = 50_000
"""Stacks a table interns before it starts afresh (a few MB at the bound). Afterwards a stack
equal to an older one may get a new serial: memos keyed by the older one miss, and a
configuration may hold both for a while, which costs time but changes no answer (the recogniser
never needs equal stacks merged to be right, only to be fast). Serials are never reused, so no
stale key can match."""
_SERIALS = itertools.count()

Stack = tuple[int, int, "Stack | None"]
"""(serial, top state, the stack below): see the module docstring."""


def stack_states(stack: Stack | None) -> list[int]:
    """A stack's states from the bottom up (linear in its depth: for tests and debugging)."""
    out: list[int] = []
    while stack is not None:
        out.append(stack[1])
        stack = stack[2]
    return out[::-1]


_LARK_SECONDS_PER_CHAR = 6e-6
"""lark reads schema grammar text at about 4.5 s a megabyte on the 2-core reference machine
(`load_rules` over the MaskBench schemas of more than 20 kB); kept a little above that."""


@cache
def lark_meta_parser() -> None:
    """Build lark's parser of its own grammar language once, without its terminal collision check.

    With interegular installed, lark checks the terminals of that (fixed, shipped) grammar for
    collisions before first use: 1.5-4 s of the first grammar loaded in a process, proving nothing."""
    checked = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        lark.load_grammar._get_parser()
    finally:
        lark.lexer.has_interegular = checked


def load_rules(text: str) -> tuple[list[TerminalDef], list[Rule]]:
    """lark's terminal definitions and BNF rules for grammar `text` (start rule `start`).

    Text in the part of lark the schema compiler writes is read by `ebnf.read_grammar`, a few
    times faster; other text by lark, which cannot be interrupted, so its time is reserved from
    the compile budget first, estimated from the text's length (`_LARK_SECONDS_PER_CHAR`)."""
    read = read_grammar(text)
    if read is not None:
        return read
    lark_meta_parser()
    reserve(len(text) * _LARK_SECONDS_PER_CHAR, "", "lark would read the grammar text past the time limit")
    try:
        grammar, _ = load_grammar(text, "<grammar>", [], False)
        terminals, rules, ignore = grammar.compile(["start"], set())
    except LarkError as e:
        raise MalformedGrammar(f"the grammar does not load in lark: {e}") from e
    if ignore:
        raise MalformedGrammar("%ignore is not supported: write whitespace into the grammar explicitly")
    return terminals, rules


_Reduce = tuple[str, int]
"""A reduction: the rule's left-hand side and how many states it pops (a plain tuple, which the
garbage collector stops tracking, and with it the table's rows: thousands per cached grammar)."""


class LRTable:
    """Shift/reduce/goto tables, with conflicts kept.

    Example: `table = LRTable.from_lark('start: "a" "b"'); table.feed(table.initial, 'A')`.
    """

    def __init__(
        self,
        shifts: list[dict[str, int]],
        reduces: list[dict[str, tuple[_Reduce, ...]]],
        gotos: list[dict[str, int]],
        end_state: int,
        rules: tuple[tuple[str, tuple[str, ...]], ...],
        kernels: tuple[tuple[tuple[int, int], ...], ...],
    ) -> None:
        self._shifts: list[dict[str, int]] = shifts
        self._reduces: list[dict[str, tuple[_Reduce, ...]]] = reduces
        self._gotos: list[dict[str, int]] = gotos
        self._end_state = end_state
        self._feed_memo: dict[tuple[int, str], tuple[Stack, ...]] = {}
        self._expected_memo: dict[int, tuple[str, ...]] = {}
        self._interned: dict[tuple[int, int], Stack] = {}
        """Stacks by (serial of the stack below, top state)."""
        self.initial: Stack = self.push(None, 0)
        self.terminals: frozenset[str] = frozenset(t for row in shifts + reduces for t in row) - {END}
        """Every terminal some state has an action for."""
        self.rules = rules
        """(lhs, rhs symbol names) per rule; `rules[0]` is the root rule `$root_start: start`."""
        self.kernels = kernels
        """Per state, its kernel items as (rule index, dot position); the closure is implied."""
        self.nonterminals: frozenset[str] = frozenset(lhs for lhs, _ in rules)

    @classmethod
    def from_lark(cls, text: str) -> LRTable:
        """Load grammar text with lark and keep every LALR action."""
        return cls.from_rules(load_rules(text)[1])

    @classmethod
    def from_rules(cls, rules: list[Rule]) -> LRTable:
        """The tables of lark BNF rules (start symbol `start`), every LALR action kept."""
        terminals = {str(sym.name) for rule in rules for sym in rule.expansion if sym.is_term}
        lalr = analyse([(str(rule.origin.name), tuple(str(sym.name) for sym in rule.expansion)) for rule in rules], terminals)
        reduces = [{la: tuple((lalr.rules[r][0], len(lalr.rules[r][1])) for r in rs) for la, rs in row.items()}
                   for row in lalr.reduces]
        return cls(list(lalr.shifts), reduces, list(lalr.gotos), lalr.end_state, lalr.rules, lalr.kernels)

    def push(self, below: Stack | None, state: int) -> Stack:
        """The stack `below` with `state` on top (interned: the same object for the same pair)."""
        key = (-1 if below is None else below[0], state)
        node = self._interned.get(key)
        if node is None:
            if len(self._interned) > _INTERNED_STACKS:
                self._interned.clear()
            node = self._interned[key] = (next(_SERIALS), state, below)
        return node

    def feed(self, stack: Stack, terminal: str) -> tuple[Stack, ...]:
        """Every stack after reading `terminal` (reductions first, then the shift); () if none."""
        key = (stack[0], terminal)
        out = self._feed_memo.get(key)
        if out is None:
            if len(self._feed_memo) > _FEED_MEMO_SIZE:
                self._feed_memo.clear()
            out = self._feed_memo[key] = self._feed(stack, terminal)
        return out

    def _feed(self, stack: Stack, terminal: str) -> tuple[Stack, ...]:
        results: dict[int, Stack] = {}
        todo, seen = [stack], {stack[0]}
        while todo:
            if len(seen) > _MAX_REDUCTIONS:
                raise MalformedGrammar("the grammar's empty rules let the parser stack grow without input")
            st = todo.pop()
            top = st[1]
            if terminal == END and top == self._end_state:
                results[st[0]] = st
            target = self._shifts[top].get(terminal)
            if target is not None:
                shifted = self.push(st, target)
                results[shifted[0]] = shifted
            for lhs, length in self._reduces[top].get(terminal, ()):
                base: Stack | None = st
                for _ in range(length):
                    assert base is not None, "a reduction pops no more states than its item has"
                    base = base[2]
                assert base is not None, "only the root rule reduces onto nothing, and it is never reduced"
                goto = self._gotos[base[1]].get(lhs)
                if goto is None:
                    continue
                nxt = self.push(base, goto)
                if nxt[0] not in seen:
                    seen.add(nxt[0])
                    todo.append(nxt)
        return tuple(results.values())

    def shifts(self, state: int, terminal: str) -> bool:
        """True if LR `state` shifts `terminal`: `feed` on any stack with that top is then not empty,
        with no reduction to try."""
        return terminal in self._shifts[state]

    def accepts(self, stack: Stack) -> bool:
        """True if the input read so far is a whole sentence."""
        return bool(self.feed(stack, END))

    def expected(self, state: int) -> tuple[str, ...]:
        """Terminals LR `state` has any action for (a superset of those `feed` accepts on a stack
        with that top)."""
        out = self._expected_memo.get(state)
        if out is None:
            names = set(self._shifts[state]) | set(self._reduces[state])
            out = self._expected_memo[state] = tuple(sorted(n for n in names if n != END))
        return out
