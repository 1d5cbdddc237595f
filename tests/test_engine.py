"""The token-mask engine on hand-written grammars: soundness of masks, forced text, completion."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a3agent.errors import MalformedGrammar
from a3agent.grammars import Thinking, compile_grammar
from a3agent.grammars.engine.automata import regex_dfa, utf8_sequences, without_substrings
from a3agent.grammars.engine.vocab import Vocabulary

JSON_GRAMMAR = r"""
start: value
?value: object | array | STRING | NUMBER | "true" | "false" | "null"
object: "{" [pair (COMMA pair)*] "}"
pair: STRING COLON value
array: "[" [value (COMMA value)*] "]"
COMMA: /, ?/
COLON: /: ?/
STRING: /"(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/
NUMBER: /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/
"""


def small_vocab() -> Vocabulary:
    """Every byte, plus multi-byte tokens that cross JSON terminals the way Tekken's do."""
    pieces: list[bytes | None] = [None, None]  # 0: </s> stop, 1: <think-end> style special
    pieces += [bytes([b]) for b in range(256)]
    words = ['{"', '":', '": ', '",', '", "', '"}', "}}", "}}</", ' "', '"]', "],", "true", "null", "12", "1.", "e+",
             "ab", "abc", "é", "漢", "\\n", '\\"', "tru", "}, {", '{"a', "0,", "-0", '": "', "</", "<th", "ink>"]
    pieces += [w.encode() for w in words]
    pieces += ["é".encode()[:1], "漢".encode()[:2]]  # partial UTF-8 tokens
    return Vocabulary.from_pieces(pieces, {"</s>": 0, "</think>": 1}, stop_ids=[0])


def brute_force_mask(grammar, config) -> np.ndarray:
    out = np.zeros(grammar.vocab.size, dtype=bool)
    for tid in range(grammar.vocab.size):
        if tid in grammar.stop_ids:
            out[tid] = grammar.accepting(config)
        else:
            out[tid] = bool(grammar.advance(config, tid))
    return out


def walk(grammar, ids):
    m = grammar.matcher()
    for tid in ids:
        assert m.advance(tid)
    return m


def assert_exact_masks_along(grammar, ids):
    """Feed `ids`, every mask on the way (and the one after the last) equal to token-by-token checks."""
    m = grammar.matcher()
    for tid in ids:
        assert np.array_equal(m.mask(), brute_force_mask(grammar, m.config))
        assert m.advance(tid)
    assert np.array_equal(m.mask(), brute_force_mask(grammar, m.config))
    return m


def assert_exact_masks_along_random_walks(grammar, rng: random.Random, walks: int, steps: int) -> None:
    """`walks` walks of up to `steps` tokens drawn from each mask, every mask equal to token-by-token checks."""
    for _ in range(walks):
        m = grammar.matcher()
        for _ in range(steps):
            mask = m.mask()
            assert np.array_equal(mask, brute_force_mask(grammar, m.config))
            allowed = np.flatnonzero(mask)
            if not len(allowed):
                break
            assert m.advance(int(rng.choice(allowed)))
            if m.stopped:
                break


def test_mask_equals_brute_force_along_random_json():
    assert_exact_masks_along_random_walks(compile_grammar(JSON_GRAMMAR, small_vocab()), random.Random(0), 25, 40)


def test_random_walks_produce_json_that_parses():
    vocab = small_vocab()
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    rng = np.random.default_rng(1)
    for _ in range(30):
        m = grammar.matcher()
        out = bytearray()
        for _ in range(60):
            allowed = np.flatnonzero(m.mask())
            tid = int(rng.choice(allowed))
            assert m.advance(tid)
            if m.stopped:
                break
            out += vocab.token_bytes[tid]
        if not m.stopped:
            for tid in m.completion():
                assert m.advance(tid)
                if tid not in vocab.stop_ids:
                    out += vocab.token_bytes[tid]
        assert m.stopped
        json.loads(out.decode("utf-8"))


def test_tokens_crossing_terminals_are_legal_iff_their_bytes_are():
    vocab = small_vocab()
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    m = walk(grammar, vocab.encode_bytes(b'{"a":{"b":1'))
    assert m.mask()[vocab.by_bytes[b"}}"]]
    assert not m.mask()[vocab.by_bytes[b"}}</"]]
    m = walk(grammar, vocab.encode_bytes(b'{"x":"y'))
    assert m.mask()[vocab.by_bytes[b'", "']]
    assert m.mask()[vocab.by_bytes[b'"}']]
    assert not m.mask()[vocab.by_bytes[b'"]']]


def test_illegal_token_is_refused_without_changing_state():
    vocab = small_vocab()
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    m = walk(grammar, vocab.encode_bytes(b"[1"))
    before = m.mask().copy()
    assert not m.advance(vocab.by_bytes[b"}}"])
    assert np.array_equal(m.mask(), before)
    assert m.advance(vocab.by_bytes[b"]"])
    assert m.accepting()


def test_partial_utf8_tokens_are_followed_only_by_continuations():
    vocab = small_vocab()
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    m = walk(grammar, vocab.encode_bytes(b'"') + [vocab.by_bytes["漢".encode()[:2]]])
    allowed = [vocab.token_bytes[t] for t in np.flatnonzero(m.mask())]
    assert allowed == [bytes([b]) for b in range(0x80, 0xC0)]  # exactly the continuation bytes


def test_forced_and_completion():
    vocab = small_vocab()
    grammar = compile_grammar('start: "{\\"name\\": \\"" NAME "\\"}"\nNAME: /[a-z]+/', vocab)
    m = grammar.matcher()
    forced = m.forced()
    assert b"".join(vocab.token_bytes[t] for t in forced) == b'{"name": "'
    for t in forced:
        assert m.advance(t)
    assert m.forced() == []
    completion = m.completion()
    assert completion[-1] == 0
    for t in completion:
        assert m.advance(t)
    assert m.stopped


def test_rollback_restores_earlier_positions():
    vocab = small_vocab()
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    m = walk(grammar, vocab.encode_bytes(b"[1"))
    mask_after_bracket = walk(grammar, vocab.encode_bytes(b"[")).mask()
    m.rollback(1)
    assert np.array_equal(m.mask(), mask_after_bracket)
    with pytest.raises(ValueError):
        m.rollback(5)


def test_ambiguous_grammar_with_reduce_reduce_conflicts_is_recognised_exactly():
    vocab = small_vocab()
    text = 'start: a "x" | b "y"\na: "q" "q"\nb: "q" "q"'
    grammar = compile_grammar(text, vocab)
    for s, ok in [(b"qqx", True), (b"qqy", True), (b"qqz", False), (b"qx", False)]:
        m = grammar.matcher()
        accepted = all(m.advance(t) for t in vocab.encode_bytes(s)) and m.accepting()
        assert accepted == ok, s


def test_special_literal_is_matched_by_id_only_and_never_spelled():
    vocab = small_vocab()
    grammar = compile_grammar('start: TEXT "</think>" "ok"\nTEXT: /(.|\\n)+/', vocab, forbid_special_text=("</think>",))
    m = walk(grammar, vocab.encode_bytes(b"hm"))
    assert m.mask()[1]
    m = walk(grammar, vocab.encode_bytes(b"hm</th"))
    assert not m.mask()[vocab.by_bytes[b"ink>"]]
    assert m.advance(1)
    assert m.forced() == vocab.encode_bytes(b"ok")


def test_think_budget_bounds_the_think_block():
    vocab = small_vocab()
    text = 'start: TEXT "</think>" "ok"\nTEXT: /(.|\\n)+/'
    grammar = compile_grammar(text, vocab, ("</think>",), Thinking(min_tokens=3, max_tokens=5))
    m = grammar.matcher()
    for i, tid in enumerate(vocab.encode_bytes(b"a b c")):
        assert not m.mask()[1], f"</think> legal after {i} tokens"
        assert not m.advance(1)
        assert m.advance(tid)
    assert m.mask()[1]  # three non-whitespace tokens out
    assert m.advance(vocab.by_bytes[b"d"]) and m.advance(vocab.by_bytes[b"e"])
    assert np.flatnonzero(m.mask()).tolist() == [1]
    assert m.forced() == [1]


def test_regex_flags_and_empty_terminals_are_refused():
    vocab = small_vocab()
    with pytest.raises(MalformedGrammar):
        compile_grammar('start: A\nA: /a/i', vocab)
    with pytest.raises(MalformedGrammar):
        compile_grammar('start: A\nA: /a*/', vocab)
    with pytest.raises(MalformedGrammar):
        compile_grammar("start: missing_rule", vocab)
    with pytest.raises(MalformedGrammar):
        compile_grammar("start: (", vocab)


@settings(max_examples=60, deadline=None)
@given(
    pattern=st.sampled_from([r"[a-zé-ü]+x?", r"(?:ab|c){1,3}", r"[^a]+", r".+", r"\d{2,4}-[\u0100-\u0800]", r"\u00e9+"]),
    text=st.text(alphabet="Aabcxé-ü\u0100\u07ff\u0800\u0801\n1234Ω😀", max_size=6),
)
def test_byte_dfa_agrees_with_python_re(pattern, text):
    dfa = regex_dfa(pattern)
    state = dfa.run(0, text.encode())
    assert (state >= 0 and bool(dfa.accept[state])) == bool(re.fullmatch(pattern, text))


def test_utf8_sequences_cover_exactly_the_code_points():
    seqs = utf8_sequences(0x7F, 0x10FFFF)
    def matches(data: bytes) -> bool:
        return any(len(s) == len(data) and all(lo <= b <= hi for (lo, hi), b in zip(s, data)) for s in seqs)
    for cp in [0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF]:
        assert matches(chr(cp).encode())
    assert not matches(b"\xed\xa0\x80")  # a surrogate
    assert not matches(b"\xc0\x80")  # overlong


def test_without_substrings_cuts_every_spelling():
    dfa = without_substrings(regex_dfa(r"(.|\n)+"), (b"<tool_call>", b"</think>"))
    for text, ok in [(b"a <tool_call", True), (b"a <tool_call>", False), (b"x</think>y", False), (b"<</think", True)]:
        state = dfa.run(0, text)
        assert (state >= 0 and bool(dfa.accept[state])) == ok, text


def test_without_substrings_keeps_an_automaton_that_cannot_spell_a_word():
    words = (b"<tool_call>", b"</think>")
    key = regex_dfa(r'"[a-z_]+"')  # never reads `<`: no product to build
    assert without_substrings(key, words) is key
    tags = regex_dfa(r"[a-z_</>]+")  # reads every byte of both words
    cut = without_substrings(tags, words)
    for text, ok in [(b"<tool_call", True), (b"a<tool_call>", False), (b"</thin>", True), (b"</think>", False)]:
        state = cut.run(0, text)
        assert (state >= 0 and bool(cut.accept[state])) == ok, text


def test_logits_processor_masks_each_row_and_follows_its_tokens():
    import torch

    from a3agent.grammars.hf import GrammarLogitsProcessor

    vocab = small_vocab()
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    processor = GrammarLogitsProcessor(grammar)
    prompt = torch.zeros((2, 3), dtype=torch.long)
    scores = processor(prompt, torch.zeros((2, vocab.size + 5)))
    assert torch.isinf(scores[:, vocab.size:]).all()  # padded columns are never legal
    bracket = vocab.by_bytes[b"["]
    assert torch.isfinite(scores[0, bracket]) and torch.isinf(scores[0, vocab.by_bytes[b"]"]])
    step = torch.cat([prompt, torch.tensor([[bracket], [vocab.by_bytes[b"12"]]])], dim=1)
    scores = processor(step, torch.zeros((2, vocab.size)))
    assert torch.isfinite(scores[0, vocab.by_bytes[b"]"]])  # row 0 is inside an array
    assert torch.isfinite(scores[1, 0]) and torch.isinf(scores[0, 0])  # row 1 may stop after 12


def test_think_budget_lets_an_unfinished_character_finish_first():
    vocab = small_vocab()
    text = 'start: TEXT "</think>" "ok"\nTEXT: /(.|\\n)+/'
    grammar = compile_grammar(text, vocab, ("</think>",), Thinking(min_tokens=1, max_tokens=2))
    m = grammar.matcher()
    assert m.advance(vocab.by_bytes[b"a"]) and m.advance(vocab.by_bytes["漢".encode()[:2]])
    assert not m.mask()[1] and m.forced() == []  # mid-character: </think> is not legal yet
    completion = m.completion()
    assert m.advance(completion[0])  # the completion finishes the character...
    assert m.forced() == [1]  # ...and then the budget closes the block
    for tid in completion[1:]:
        assert m.advance(tid)
    assert m.stopped


def test_completion_fills_the_think_block_up_to_min_tokens():
    vocab = small_vocab()
    text = 'start: TEXT "</think>" "ok"\nTEXT: /(.|\\n)+/'
    grammar = compile_grammar(text, vocab, ("</think>",), Thinking(min_tokens=3, max_tokens=9))
    m = grammar.matcher()
    assert m.advance(vocab.by_bytes[b"a"])
    completion = m.completion()
    for tid in completion:
        assert m.advance(tid), tid
    assert m.stopped


@pytest.mark.parametrize("thinking", [None, Thinking(min_tokens=1, max_tokens=4)])
def test_advance_refuses_ids_outside_the_vocabulary(thinking):
    vocab = small_vocab()
    text = 'start: TEXT "</think>" "ok"\nTEXT: /(.|\\n)+/'
    grammar = compile_grammar(text, vocab, ("</think>",), thinking)
    m = walk(grammar, vocab.encode_bytes(b"hm"))
    before = m.mask().copy()
    for bad in (-1, -(2**40), vocab.size, 2**40, 1.0, "1", None):
        assert m.advance(bad) is False, bad
    assert np.array_equal(m.mask(), before)  # nothing was taken
    assert m.advance(np.int64(1)) and m.forced() == vocab.encode_bytes(b"ok")  # numpy ids are ids


def test_forced_text_is_capped_where_no_finite_text_ends_the_sentence():
    from a3agent.grammars.engine.limits import limits, set_limits

    vocab = small_vocab()
    grammar = compile_grammar('start: "a" loop | "b"\nloop: "c" "(" loop ")"', vocab)  # after "a", "c(" forever
    saved = limits().forced_bytes
    set_limits(forced_bytes=500)
    try:
        m = walk(grammar, vocab.encode_bytes(b"a"))
        assert grammar.forced(m.config)[0] == [b"c(" * 250]
        with pytest.raises(MalformedGrammar):
            m.completion()
    finally:
        set_limits(forced_bytes=saved)


def test_forced_text_of_a_long_literal_comes_in_chunks():
    from a3agent.grammars.engine.limits import limits, set_limits

    vocab = small_vocab()
    literal = "xyz" * 400
    grammar = compile_grammar(f'start: "{{" KEY "}}"\nKEY: "{literal}"', vocab)
    saved = limits().forced_bytes
    set_limits(forced_bytes=100)
    try:
        config, text = grammar.initial, b""
        for _ in range(20):
            pieces, config = grammar.forced(config)
            if not pieces:
                break
            assert len(pieces[0]) <= 100
            text += pieces[0]
        assert text == ("{" + literal + "}").encode() and grammar.accepting(config)
    finally:
        set_limits(forced_bytes=saved)


def test_forced_runs_through_a_long_literal_in_one_call():
    vocab = small_vocab()
    literal = "".join(random.Random(3).choice("xyz") for _ in range(1_000))
    grammar = compile_grammar(f'start: "{{" KEY "}}"\nKEY: "{literal}"', vocab)
    pieces, config = grammar.forced(grammar.initial)
    assert pieces == [("{" + literal + "}").encode()]
    assert grammar.accepting(config)
