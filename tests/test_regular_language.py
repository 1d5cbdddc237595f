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


def _string_set():
    from a3agent.grammars.schema.string_sets import StringSet

    contains = [seq(repeat(char_set("abxyz12"), 0, None), literal(c), repeat(char_set("abxyz12"), 0, None)) for c in "ax1"]
    starts_with_a = seq(literal("a"), repeat(char_set("abxyz12"), 0, None))
    return StringSet(min_length=3, max_length=9, patterns=tuple(contains), excluded=(starts_with_a,),
                     banned=frozenset({"xa1", "ax1"}))


def test_a_string_sets_automaton_is_its_parts_product_taken_two_at_a_time():
    """`StringSet.fsm` intersects its parts pairwise, smallest first, minimising each step: the
    same language as the product of all at once, and as few states as its minimal automaton."""
    from a3agent.grammars.schema import string_sets

    strings = _string_set()
    parts = [to_fsm(repeat(string_sets.ANY_CHAR, 3, 9)), *map(to_fsm, strings.patterns),
             everything_but(to_fsm(strings.excluded[0])), to_fsm(string_sets.strings_except(strings.banned))]
    whole = intersect(*parts)
    ours = strings.fsm()
    assert ours.equivalent(whole)
    assert len(ours.states) == len(minimal(whole).states)
    assert ours.accepts("xa1z") and not ours.accepts("xa1") and not ours.accepts("ax1z") and not ours.accepts("x1z")


def test_a_string_sets_automaton_falls_back_to_the_whole_product_when_a_step_is_too_large(monkeypatch):
    from a3agent.grammars.regex.regular import TooComplex
    from a3agent.grammars.schema import string_sets

    strings = _string_set()
    expected = strings.fsm()

    def too_large(*args):
        raise TooComplex("a step past the product bound")

    monkeypatch.setattr(string_sets, "minimal", too_large)
    assert strings.fsm().equivalent(expected)
