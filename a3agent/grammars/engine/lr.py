"""A non-deterministic LALR(1) recogniser built from lark's own LALR analysis.

lark computes the LR(0) item sets and LALR(1) lookaheads; where lark would refuse a grammar
(reduce/reduce) or silently prefer shift (shift/reduce), we keep *every* action. Running all of
them side by side is an exact recogniser for any context-free grammar without hidden left
recursion: LALR lookaheads over-approximate canonical LR ones, so no derivation is cut, and every
parse that dies is only a wrong guess. Schema-generated grammars are full of such guesses
(anyOf of objects that share a prefix), and the matcher already keeps several hypotheses.

A parser configuration is a stack of state ids as a tuple: hashable (for mask caches) and cheap
to branch. `feed` is memoised per (stack, terminal).

The table also keeps the grammar's rules and each state's kernel items (`rules`, `kernels`), for
the shortest-completion tables (`completion.py`), which need to know what each state is in the
middle of; the root rule `$root_start: start` is `rules[0]`, the kernel of state 0.

Not handled: grammars whose empty rules let the stack grow without reading input (refused).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Iterator

import lark.lexer
import lark.load_grammar
from lark.exceptions import LarkError
from lark.load_grammar import load_grammar
from lark.grammar import Rule
from lark.lexer import TerminalDef
from lark.parsers.lalr_analysis import LALR_Analyzer
from lark.common import ParserConf

from a3agent.errors import MalformedGrammar

__all__ = ["LRTable", "Stack", "END", "ROOT", "lark_meta_parser", "load_rules"]

Stack = tuple[int, ...]
END = "$END"
ROOT = "$root_start"
"""The root nonterminal: reducing it onto state 0 means the sentence is complete."""
_MAX_REDUCTIONS = 10_000


@contextmanager
def _recursion_room(rules: int) -> Iterator[None]:
    """lark's lookahead analysis recurses once per rule along a chain (a 5,000-item `prefixItems`
    is such a chain); give it that much room (Python-to-Python calls, no C stack) while it runs.
    The number of rules is bounded before this by `Limits.grammar_rules`."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 4 * rules + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


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
    """lark's terminal definitions and BNF rules for grammar `text` (start rule `start`)."""
    lark_meta_parser()
    try:
        grammar, _ = load_grammar(text, "<grammar>", [], False)
        terminals, rules, ignore = grammar.compile(["start"], set())
    except LarkError as e:
        raise MalformedGrammar(f"the grammar does not load in lark: {e}") from e
    if ignore:
        raise MalformedGrammar("%ignore is not supported: write whitespace into the grammar explicitly")
    return terminals, rules


@dataclass(frozen=True)
class _Reduce:
    lhs: str
    length: int


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
        self._feed_memo: dict[tuple[Stack, str], tuple[Stack, ...]] = {}
        self._expected_memo: dict[int, tuple[str, ...]] = {}
        self.initial: Stack = (0,)
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
        try:
            with _recursion_room(len(rules)):
                analyzer = LALR_Analyzer(ParserConf(rules, {}, ["start"]))
                analyzer.compute_lr0_states()
                analyzer.compute_reads_relations()
                analyzer.compute_includes_lookback()
                analyzer.compute_lookaheads()
        except LarkError as e:
            raise MalformedGrammar(f"the grammar cannot be analysed: {e}") from e
        root = analyzer.lr0_start_states["start"]
        itemsets = [root] + [s for s in analyzer.lr0_itemsets if s is not root]
        index = {id(s): i for i, s in enumerate(itemsets)}
        shifts: list[dict[str, int]] = []
        reduces: list[dict[str, tuple[_Reduce, ...]]] = []
        gotos: list[dict[str, int]] = []
        kernels: list[tuple[tuple[int, int], ...]] = []
        end_state = -1
        rule_index: dict[Rule, int] = {next(iter(root.kernel)).rule: 0}
        for s in itemsets:
            kernels.append(
                tuple(sorted((rule_index.setdefault(rp.rule, len(rule_index)), rp.index) for rp in s.kernel))
            )
            shifts.append({sym.name: index[id(t)] for sym, t in s.transitions.items() if sym.is_term})
            gotos.append({sym.name: index[id(t)] for sym, t in s.transitions.items() if not sym.is_term})
            reduces.append(
                {
                    la.name: tuple(_Reduce(r.origin.name, len(r.expansion)) for r in rules)
                    for la, rules in s.lookaheads.items()
                }
            )
            if any(rp.is_satisfied and rp.rule.origin.name == "$root_start" for rp in s.closure):
                end_state = index[id(s)]
        for rule in rules:  # rules no state is in the middle of are still predicted by some
            rule_index.setdefault(rule, len(rule_index))
        table_rules = tuple(  # in insertion order, which is index order
            (str(rule.origin.name), tuple(str(sym.name) for sym in rule.expansion)) for rule in rule_index
        )
        return cls(shifts, reduces, gotos, end_state, table_rules, tuple(kernels))

    def feed(self, stack: Stack, terminal: str) -> tuple[Stack, ...]:
        """Every stack after reading `terminal` (reductions first, then the shift); () if none."""
        key = (stack, terminal)
        out = self._feed_memo.get(key)
        if out is None:
            out = self._feed_memo[key] = self._feed(stack, terminal)
        return out

    def _feed(self, stack: Stack, terminal: str) -> tuple[Stack, ...]:
        results: list[Stack] = []
        todo, seen = [stack], {stack}
        while todo:
            if len(seen) > _MAX_REDUCTIONS:
                raise MalformedGrammar("the grammar's empty rules let the parser stack grow without input")
            st = todo.pop()
            top = st[-1]
            if terminal == END and top == self._end_state:
                results.append(st)
            target = self._shifts[top].get(terminal)
            if target is not None:
                results.append(st + (target,))
            for red in self._reduces[top].get(terminal, ()):
                base = st[: len(st) - red.length]
                goto = self._gotos[base[-1]].get(red.lhs)
                if goto is None:
                    continue
                nxt = base + (goto,)
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return tuple(dict.fromkeys(results))

    def accepts(self, stack: Stack) -> bool:
        """True if the input read so far is a whole sentence."""
        return bool(self.feed(stack, END))

    def expected(self, stack: Stack) -> tuple[str, ...]:
        """Terminals the top state has any action for (a superset of those `feed` accepts)."""
        top = stack[-1]
        out = self._expected_memo.get(top)
        if out is None:
            names = set(self._shifts[top]) | set(self._reduces[top])
            out = self._expected_memo[top] = tuple(sorted(n for n in names if n != END))
        return out
