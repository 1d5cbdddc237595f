"""Fusing regular nonterminals into single terminals keeps the language exactly."""

from __future__ import annotations

import random

import lark
import numpy as np
import pytest

from a3agent.grammars import compile_grammar
from a3agent.grammars.engine.automata import literal_dfa, regex_dfa
from a3agent.grammars.engine.fusion import fuse_regular_rules
from a3agent.grammars.engine.lr import load_rules
from a3agent.grammars.engine.vocab import Vocabulary

# keys other than "ab" as a trie of rules over one-character terminals (what schema grammars
# write for undeclared keys), digits as a left-recursive `+`, and a recursive value around them
GRAMMAR = r"""
start: "{" [pair (COMMA pair)*] "}"
pair: key COLON value
key: "\"" key_0
key_0: "a" key_a | OTHER_A REST | "\""
key_a: "b" key_ab | OTHER_B REST | "\""
key_ab: CHAR REST
value: digits | "[" [value (COMMA value)*] "]" | "(" value ")" | key
digits: DIGIT+ ("." DIGIT+)?
COMMA: ","
COLON: ":"
OTHER_A: /[^"\\a]/
OTHER_B: /[^"\\b]/
CHAR: /[^"\\]/
REST: /[^"\\]*"/
DIGIT: /[0-9]/
"""


def byte_vocab() -> Vocabulary:
    pieces: list[bytes | None] = [None] + [bytes([b]) for b in range(256)]
    pieces += [w.encode() for w in ['{"', '"ab"', '"abc":', '":', '":[', "12", "1.5", '"}', "],", "(("]]
    return Vocabulary.from_pieces(pieces, {"</s>": 0}, stop_ids=[0])


def accepts(grammar, text: bytes) -> bool:
    config = grammar.initial
    for b in text:
        config = grammar.step(config, b)
        if not config:
            return False
    return grammar.accepting(config)


def mutations(rng: random.Random, text: str) -> str:
    alphabet = '{}[]()":,.ab c019'
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chars) + 1)
        op = rng.random()
        if op < 0.4 and chars:
            del chars[min(i, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(i, rng.choice(alphabet))
        elif chars:
            chars[min(i, len(chars) - 1)] = rng.choice(alphabet)
    return "".join(chars)


def test_fused_grammar_accepts_exactly_what_lark_accepts():
    grammar = compile_grammar(GRAMMAR, byte_vocab())
    fused = sorted(name for name in grammar.dfas if name.startswith("__FUSED_"))
    assert fused == ["__FUSED_digits", "__FUSED_key"]
    oracle = lark.Lark(GRAMMAR, parser="earley", lexer="dynamic")
    seeds = ['{"x":1}', '{"ab":[1,2.5],"abc":("q")}', '{"a":[],"b":[[3]]}', '{"":"ab"}', "{}"]
    rng = random.Random(7)
    checked = 0
    for _ in range(600):
        text = mutations(rng, rng.choice(seeds))
        try:
            oracle.parse(text)
            expected = True
        except lark.exceptions.LarkError:
            expected = False
        assert accepts(grammar, text.encode()) == expected, text
        checked += expected
    assert checked > 20  # valid and invalid texts were both exercised


def test_a_token_crosses_a_whole_fused_key():
    vocab = byte_vocab()
    grammar = compile_grammar(GRAMMAR, vocab)
    m = grammar.matcher()
    assert m.advance(vocab.by_bytes[b"{"])
    mask = m.mask()
    assert not mask[vocab.by_bytes[b'"ab"']]  # "ab" is not a key of this grammar
    assert mask[vocab.by_bytes[b'"abc":']]
    assert m.advance(vocab.by_bytes[b'"abc":'])
    assert m.mask()[vocab.by_bytes[b"1.5"]]


def _fused(text: str) -> set[str]:
    terminals, rules = load_rules(text)
    dfas = {t.name: (literal_dfa(t.pattern.value.encode()) if t.pattern.type == "str" else regex_dfa(t.pattern.value))
            for t in terminals}
    _, fused = fuse_regular_rules(rules, dfas)
    return {name.removeprefix("__FUSED_") for name in fused}


@pytest.mark.parametrize(
    "text, expected",
    [
        ('start: p\np: "(" p ")" | "x"', set()),  # self-embedding: not regular
        ('start: "<" w ">"\nw: "a" w | "b"', {"w"}),  # right-linear
        ('start: "<" w ">"\nw: w "a" | "b"', {"w"}),  # left-linear
        ('start: w\nw: "a"?', set()),  # may be empty: no terminal can be
        ('start: w "!"\nw: S "b"\nS: /"[a-z]*"/', set()),  # unbounded terminal with more after it
        ('start: w "!"\nw: "b" S\nS: /"[a-z]*"/', {"w"}),  # unbounded only at the end
    ],
)
def test_which_nonterminals_are_fused(text, expected):
    assert _fused(text) == expected


def test_masks_over_fused_terminals_equal_token_by_token_checks():
    vocab = byte_vocab()
    grammar = compile_grammar(GRAMMAR, vocab)
    rng = np.random.default_rng(3)
    for _ in range(20):
        m = grammar.matcher()
        for _ in range(30):
            mask = m.mask()
            expected = np.array([bool(grammar.advance(m.config, t)) if t else grammar.accepting(m.config)
                                 for t in range(vocab.size)])
            assert np.array_equal(mask, expected)
            tid = int(rng.choice(np.flatnonzero(mask)))
            assert m.advance(tid)
            if m.stopped:
                break
