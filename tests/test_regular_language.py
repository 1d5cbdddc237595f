"""The regular-language algebra's own minimisation: the same language and state count as interegular's
`reduce()`, its dead states gone, its work charged to the compile budget."""

import pytest

from a3agent.errors import GrammarTooComplex
from a3agent.grammars.engine.limits import compile_budget, limits, set_limits
from a3agent.grammars.regex.char_regex import alt, char_set, literal, repeat, seq
from a3agent.grammars.regex.regular import everything_but, intersect, minimal, to_fsm

LANGUAGES = [
    alt(seq(literal("ab"), repeat(char_set("ab"), 0, None)), seq(literal("a"), repeat(char_set("ab"), 1, None))),
    seq(repeat(char_set("0123456789"), 1, 6), literal("."), repeat(literal("0"), 0, 3)),
    alt(literal("cat"), literal("cats"), literal("dog"), literal("dogs")),
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_minimal_keeps_the_language_with_as_few_states_as_interegulars_reduce(language):
    fsm = to_fsm(language)
    for automaton in (fsm, everything_but(fsm), intersect(fsm, everything_but(to_fsm(literal("ab"))))):
        ours, theirs = minimal(automaton), automaton.reduce()
        assert ours.equivalent(automaton)
        # interegular keeps one dead state where a complement needs it; ours drops dead states
        assert len(ours.states) <= len(theirs.states)
        assert len(ours.states) >= len(theirs.states) - 1


def test_minimal_of_an_empty_language_accepts_nothing():
    empty = intersect(to_fsm(literal("a")), to_fsm(literal("b")))
    assert minimal(empty).empty()


def test_minimal_charges_its_work_to_the_compile_budget():
    fsm = to_fsm(seq(repeat(char_set("ab"), 0, None), literal("a"), repeat(char_set("ab"), 6, 6)))  # 2**7 states
    saved = limits()
    try:
        set_limits(compile_work=1_000)
        with pytest.raises(GrammarTooComplex) as refused, compile_budget():
            minimal(fsm)
        assert refused.value.limit == "compile_work"
    finally:
        set_limits(**{name: getattr(saved, name) for name in ("compile_work",)})


def test_intersect_charges_its_work_to_the_compile_budget():
    """A product of a few thousand states over a wide alphabet is seconds of work: it must meet the
    compile limit as it goes, not after it is built."""
    words = to_fsm(seq(repeat(char_set("abcdefgh"), 0, None), literal("a"), repeat(char_set("abcdefgh"), 3, 3)))
    other = to_fsm(seq(repeat(char_set("abcdefgh"), 0, None), literal("b"), repeat(char_set("abcdefgh"), 5, 5)))
    assert not intersect(words, other).empty()  # outside a compile nothing is charged
    saved = limits()
    try:
        set_limits(compile_work=1_000)
        with pytest.raises(GrammarTooComplex) as refused, compile_budget():
            intersect(words, other)
        assert refused.value.limit == "compile_work"
    finally:
        set_limits(**{name: getattr(saved, name) for name in ("compile_work",)})
