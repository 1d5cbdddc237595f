"""Lazy terminal automata: derivatives agree with Python's `re`, counts cost nothing until text
reaches them, token tables shared across counts stay exact, and every bound is a typed error."""

import random
import re

import numpy as np
import pytest

from a3agent.errors import GrammarTooComplex, MalformedGrammar
from a3agent.grammars import compile_json_schema, set_limits
from a3agent.grammars.engine.automata import regex_dfa
from a3agent.grammars.engine.lazy_dfa import LazyDFA

PATTERNS = [
    r"[a-c]{2,5}x",
    r"(?:ab|a)*b{3}",
    r"[^\x00-\x1f\"\\]{1,4}",
    r"(?:é|[α-ω])+\.?",
    r"[ab]*a[ab]{12}",
    r"(?:a{3}){2,4}",
    r".{1,3}z",
    r"\d+(?:\.\d{1,2})?",
]


def _accepts(dfa, data: bytes) -> bool:
    state = 0
    for b in data:
        state = dfa.rows[state][b]
        if state < 0:
            return False
    return bool(dfa.accepting[state])


@pytest.mark.parametrize("pattern", PATTERNS)
def test_automaton_matches_python_re_on_random_text(pattern):
    dfa = regex_dfa(pattern)
    rng = random.Random(pattern)
    alphabet = "abcxz.é αω0123456789\n\"\\"
    compiled = re.compile(pattern)
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 16)))
        assert _accepts(dfa, text.encode()) == bool(compiled.fullmatch(text)), text


def test_a_huge_count_builds_no_state_per_count():
    dfa = regex_dfa('"[a-z]{0,1000000000000000000}"')
    assert isinstance(dfa, LazyDFA)
    built = dfa.n_states
    assert built < 2000
    assert _accepts(dfa, b'"' + b"q" * 3000 + b'"')
    assert dfa.n_states < built + 3000 * 4


def test_bounded_count_is_exact_at_both_ends():
    dfa = regex_dfa('"x{1500,2000}"')
    assert not _accepts(dfa, b'"' + b"x" * 1499 + b'"')
    assert _accepts(dfa, b'"' + b"x" * 1500 + b'"')
    assert _accepts(dfa, b'"' + b"x" * 2000 + b'"')
    assert not _accepts(dfa, b'"' + b"x" * 2001 + b'"')


def test_states_far_from_the_bounds_share_a_signature_and_near_ones_do_not():
    dfa = regex_dfa('"[a-z]{0,5000}"')
    states = [dfa.rows[0][ord('"')]]
    for _ in range(4999):
        states.append(dfa.rows[states[-1]][ord("k")])
    horizon = 76
    assert dfa.signature(states[10], horizon) == dfa.signature(states[2000], horizon)
    assert dfa.signature(states[4990], horizon) != dfa.signature(states[2000], horizon)
    assert dfa.signature(states[4990], horizon) != dfa.signature(states[4991], horizon)


def test_shortest_text_is_shortest_and_accepted():
    for pattern in PATTERNS:
        dfa = regex_dfa(pattern)
        shortest = dfa.shortest_from(0)
        assert _accepts(dfa, shortest)
        compiled = re.compile(pattern)
        text = shortest.decode()
        assert compiled.fullmatch(text)
        # nothing shorter over the pattern's own characters matches
        assert not any(compiled.fullmatch(c * k) for k in range(len(text)) for c in "abxz.é3a")


@pytest.mark.parametrize("pattern", [r"a(?=b)", r"(a)\1", r"^a$", r"(?i)a", "a{2,1}", "a{99999999999999999999}"])
def test_unsupported_regex_is_a_typed_error(pattern):
    with pytest.raises((MalformedGrammar, GrammarTooComplex)):
        regex_dfa(pattern)


def test_state_limit_is_a_typed_error():
    previous = set_limits().dfa_states
    set_limits(dfa_states=3000)
    try:
        dfa = regex_dfa('"[a-z]{0,999999}y"')
        with pytest.raises(GrammarTooComplex) as info:
            _accepts(dfa, b'"' + b"a" * 5000)
        assert info.value.limit == "dfa_states"
    finally:
        set_limits(dfa_states=previous)


def test_minimum_past_the_completion_limit_is_refused_at_compile(a_series_tokenizer):
    with pytest.raises(GrammarTooComplex) as info:
        compile_json_schema({"type": "string", "minLength": 10**12}, a_series_tokenizer)
    assert info.value.limit == "shortest_text"


def _legal_by_advancing(matcher, token: int) -> bool:
    if matcher.advance(token):
        matcher.rollback(1)
        return True
    return False


@pytest.mark.parametrize("max_length", [300, 10**18])
def test_masks_of_a_long_bounded_string_match_token_by_token_advances(a_series_tokenizer, max_length):
    grammar = compile_json_schema({"type": "string", "maxLength": max_length}, a_series_tokenizer)
    matcher = grammar.matcher()
    text = '"' + "lorem ipsum dolor " * 16  # 289 characters after the quote
    ids = a_series_tokenizer.encode(text, add_special_tokens=False)
    rng = np.random.default_rng(0)
    sample = rng.choice(grammar.vocab.size, 400, replace=False).tolist()
    quoting = [t for t in range(grammar.vocab.size) if (grammar.vocab.token_bytes[t] or b"").count(b'"')][:300]
    for position, token in enumerate(ids):
        if position % 7 == 0 or position >= len(ids) - 3:
            mask = matcher.mask()
            for candidate in sample + quoting:
                assert bool(mask[candidate]) == _legal_by_advancing(matcher, candidate), (position, candidate)
        assert matcher.advance(token)
    assert not matcher.accepting()


def test_a_long_literal_is_stored_as_its_text_and_shares_tables_by_what_is_ahead(a_series_tokenizer):
    from a3agent.grammars import compile_grammar
    from a3agent.grammars.engine.lazy_dfa import LiteralDFA

    text = "abc" * 40_000
    grammar = compile_grammar(f'start: "{text}"', a_series_tokenizer)
    (dfa,) = grammar.dfas.values()
    assert isinstance(dfa, LiteralDFA)
    assert dfa.signature(3, 76) == dfa.signature(3000, 76)  # same 77 bytes ahead, end out of reach
    assert dfa.signature(len(text) - 10, 76) != dfa.signature(3000, 76)
    matcher = grammar.matcher()
    forced_all: list[int] = []
    while forced := matcher.forced():  # in chunks of at most Limits.forced_bytes
        assert 0 < len(a_series_tokenizer.decode(forced)) <= 1024
        for token in forced:
            assert matcher.advance(token)
        forced_all += forced
    assert a_series_tokenizer.decode(forced_all) == text
    assert matcher.accepting()


def test_a_literal_that_spells_a_forbidden_special_is_refused(a_series_tokenizer):
    from a3agent.grammars import compile_grammar

    long_text = "x" * 300 + "<tool_call>"
    with pytest.raises(MalformedGrammar):
        compile_grammar(f'start: "{long_text}"', a_series_tokenizer, forbid_special_text=("<tool_call>",))
