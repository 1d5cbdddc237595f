"""The engine's cost limits, and the compile budget that enforces them.

Every step of compiling whose cost grows with its input (schema depth, automaton states, rules,
text lengths) is bounded by a field of `Limits`; past it the compiler raises `GrammarTooComplex`
naming the JSON path and the limit, within `compile_seconds` of the start. The limits are one
process-wide setting (`set_limits`) so that the Agent, the CLI and direct callers agree.

Code charges work with `charge(units, path)`, which also checks the deadline every so many
units; a loop that cannot charge (a third-party call) must be bounded by its input size first,
and `reserve`s its estimated time before it starts.

Example: `set_limits(compile_seconds=5.0)`; `with compile_budget(): ...compile...`
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Iterator, TypedDict, Unpack

from a3agent.errors import GrammarTooComplex

__all__ = ["Limits", "limits", "set_limits", "compile_budget", "charge", "reserve", "check_count"]


@dataclass(frozen=True)
class Limits:
    """Bounds on the cost of compiling and using a grammar (all settable with `set_limits`)."""

    compile_seconds: float = 2.0
    """Wall-clock time one compile may take before it gives up with `GrammarTooComplex`."""
    compile_work: int = 20_000_000
    """Units of work (automaton states built, rules written, items analysed) one compile may do."""
    schema_depth: int = 128
    """Nesting depth of a JSON Schema (subschemas inside subschemas, `$ref`s followed)."""
    schema_nodes: int = 100_000
    """Subschemas in one schema, counting each `$ref` expansion."""
    dfa_states: int = 200_000
    """States one terminal automaton may build (lazily, as text reaches them)."""
    shortest_text: int = 1_000_000
    """Bytes of the shortest text that finishes a terminal (what `completion()` may have to force)."""
    forced_bytes: int = 1_024
    """Bytes one `forced()` call returns at most: the decode loop asks again next step, so a long
    `const` is fed in chunks and no step walks (or tokenises) all of it."""
    grammar_text: int = 300_000
    """Characters of grammar text handed to lark (a schema's rules, a turn's tools): lark reads
    about 100-200 KB a second here, and cannot be interrupted."""
    rule_symbols: int = 500
    """Symbols on the right-hand side of one grammar rule (the items of a state grow with it)."""
    grammar_rules: int = 3_000
    """Rules of one grammar after lark's expansion (the LALR analysis is the slowest compile step;
    it is charged as it goes, this refuses the hopeless before it starts)."""
    grammar_symbols: int = 200_000
    """Symbols on the right-hand sides of all rules of one grammar, before the LALR analysis."""
    text_length: int = 1_000_000
    """Characters of a literal in a grammar or schema (`const`, `enum` members, property names)."""
    enum_values: int = 2_000
    """Distinct values of one `enum` (a string enum is one terminal, a trie of its spellings)."""
    count: int = 10**18
    """Largest repetition count (minLength, maxItems, `{m,n}`) that is taken as written."""
    schema_dfa_states: int = 10_000
    """States of one automaton the schema compiler builds whole, to combine string constraints
    (a pattern with lengths, `not`, key languages); unlike terminal automata these are eager."""
    object_states: int = 50_000
    """States of one object's member automaton (declared key x property count x tracked keys);
    each may become a grammar rule."""
    number_digits: int = 100
    """Digits of a numeric bound or `multipleOf` (each digit is a level of the number automaton)."""
    ordered_optional_keys: int = 32
    """Optional keys of one object held to schema order, once each; those past it may come in any
    order, any number of times, like undeclared keys (in order, the LALR analysis grows faster than
    the square of their count: 64 keys take 0.2 s to compile, 200 keys 1.8 s)."""


_LIMITS = Limits()


def limits() -> Limits:
    """The limits in force."""
    return _LIMITS


class LimitChanges(TypedDict, total=False):
    """The `Limits` fields `set_limits` may change, with their types (`tests/test_typing.py` keeps them in step)."""

    compile_seconds: float
    compile_work: int
    schema_depth: int
    schema_nodes: int
    dfa_states: int
    shortest_text: int
    forced_bytes: int
    grammar_text: int
    text_length: int
    count: int
    schema_dfa_states: int
    object_states: int
    number_digits: int
    ordered_optional_keys: int
    rule_symbols: int
    grammar_rules: int
    grammar_symbols: int
    enum_values: int


def set_limits(**changes: Unpack[LimitChanges]) -> Limits:
    """Change some limits for the whole process; returns the new `Limits`.

    Raises TypeError for a name that is not a `Limits` field."""
    global _LIMITS
    _LIMITS = replace(_LIMITS, **changes)
    return _LIMITS


class _Budget:
    __slots__ = ("deadline", "work", "next_check")

    def __init__(self, lim: Limits) -> None:
        self.deadline = time.monotonic() + lim.compile_seconds
        self.work = 0
        self.next_check = _CHECK_EVERY


_CHECK_EVERY = 2_000
_BUDGET: ContextVar[_Budget | None] = ContextVar("a3agent_compile_budget", default=None)


@contextmanager
def compile_budget() -> Iterator[None]:
    """Run a compile under the limits; nested uses share the outermost budget."""
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set(_Budget(_LIMITS))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def charge(units: int = 1, path: str = "") -> None:
    """Count `units` of compile work; raise `GrammarTooComplex` past the work or time limit.

    Outside a compile (lazy automaton states built while masking) only the work is unbounded by
    time: the per-automaton limits (`dfa_states`) bound it there."""
    budget = _BUDGET.get()
    if budget is None:
        return
    budget.work += units
    if budget.work < budget.next_check:
        return
    budget.next_check = budget.work + _CHECK_EVERY
    if budget.work > _LIMITS.compile_work:
        raise GrammarTooComplex(path, "compile_work", _LIMITS.compile_work)
    if time.monotonic() > budget.deadline:
        raise GrammarTooComplex(path, "compile_seconds", _LIMITS.compile_seconds)


def reserve(seconds: float, path: str = "", what: str = "") -> None:
    """Before a call that cannot charge (lark reading grammar text), its estimated time: raise
    `GrammarTooComplex` now, rather than after it, if that would pass the compile deadline."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() + seconds > budget.deadline:
        raise GrammarTooComplex(path, "compile_seconds", _LIMITS.compile_seconds, what)


def check_count(value: int, limit: str, path: str = "", what: str = "") -> None:
    """Raise `GrammarTooComplex` if `value` is over the `Limits` field named `limit`."""
    bound = getattr(_LIMITS, limit)
    if value > bound:
        raise GrammarTooComplex(path, limit, bound, what)
