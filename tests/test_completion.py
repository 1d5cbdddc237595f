"""Shortest completion: valid (the recogniser accepts after it), shortest (against a brute-force
search over configurations), and linear in the parser stack (hostile keys and deep nesting
finish under a hang guard)."""

from __future__ import annotations

import json
import random
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from a3agent.errors import GrammarError, GrammarTooComplex
from a3agent.grammars import compile_grammar, compile_json_schema
from a3agent.grammars.engine.grammar import Config, Grammar, Piece
from a3agent.grammars.engine.vocab import Vocabulary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import maskbench  # noqa: E402

THINK_END = 1
BRUTE_FORCE_DEPTH = 5
"""The search is exponential in depth on ambiguous grammars; deeper completions are checked to
have no shorter rival up to this depth."""


def small_vocab() -> Vocabulary:
    """Every byte, a few multi-byte tokens, a stop id (0) and a special `</think>` (1)."""
    pieces: list[bytes | None] = [None, None] + [bytes([b]) for b in range(256)]
    pieces += [w.encode() for w in ['{"', '":', '", "', '"}', "}}", "ok", "qq", "((", "))", "[1", "],", "bbbb"]]
    return Vocabulary.from_pieces(pieces, {"</s>": 0, "</think>": THINK_END}, stop_ids=[0])


SMALL_GRAMMARS = {
    "json": r"""
start: value
?value: object | array | STRING | NUMBER | "true" | "false" | "null"
object: "{" [pair ("," pair)*] "}"
pair: STRING ":" value
array: "[" [value ("," value)*] "]"
STRING: /"[a-z]*"/
NUMBER: /-?(0|[1-9][0-9]*)(\.[0-9]+)?/
""",
    "ambiguous_expressions": r"""
start: e
e: e "+" e | e "*" e | "(" e ")" | /[a-c]/ | "neg" e
""",
    "nullable_and_optional": r"""
start: list
list: "[" [elems] "]"
elems: elem ("," elem)*
elem: list | NUM | opt "x" opt
opt: "yy"?
NUM: /[0-9]+/
""",
    "reduce_reduce": 'start: a "x" | b "yy" | a a "z"\na: "q" "q" | "q"\nb: "q" "q"',
    "long_literal_or_short_detour": 'start: "a" ("bbbbbbbbbb" | c c) "!"\nc: "cc" | "d" c',
    "special_literal": 'start: TEXT "</think>" body\nbody: "k" | "{" body "}" | "[" body* "]"\nTEXT: /[a-z ]+/',
}


@contextmanager
def hang_guard(seconds: int):
    """Fail (rather than hang the suite) if the block runs past `seconds`."""

    def expire(*_):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cost(pieces: list[Piece]) -> int:
    return sum(1 if isinstance(p, int) else len(p) for p in pieces)


def feed(grammar: Grammar, config: Config, pieces: list[Piece]) -> Config:
    for piece in pieces:
        if isinstance(piece, int):
            config = grammar.step_special(config, piece)
        else:
            for b in piece:
                config = grammar.step(config, b)
        assert config, "the completion left the grammar"
    return config


def brute_force_distance(grammar: Grammar, config: Config, limit: int) -> int | None:
    """Fewest bytes (a special counting one) from `config` to acceptance, searched breadth first
    over every byte and special; None if more than `limit`."""
    specials = list(grammar.special_terminals.values())
    frontier, seen = {config}, {config}
    for distance in range(limit + 1):
        if any(grammar.accepting(c) for c in frontier):
            return distance
        nxt = set()
        for c in frontier:
            successors = [grammar.step(c, b) for b in range(256)] + [grammar.step_special(c, s) for s in specials]
            nxt.update(s for s in successors if s and s not in seen)
        seen |= nxt
        frontier = nxt
    return None


def random_walk(grammar: Grammar, rng: random.Random, steps: int):
    """A matcher after up to `steps` random legal tokens (never a stop token)."""
    m = grammar.matcher()
    for _ in range(steps):
        allowed = [t for t in np.flatnonzero(m.mask()).tolist() if t not in grammar.stop_ids]
        if not allowed:
            break
        assert m.advance(rng.choice(allowed))
    return m


@pytest.mark.parametrize("name", sorted(SMALL_GRAMMARS))
def test_completion_is_valid_and_shortest_along_random_walks(name):
    vocab = small_vocab()
    grammar = compile_grammar(SMALL_GRAMMARS[name], vocab, forbid_special_text=("</think>",))
    rng = random.Random(name)
    checked = 0
    for walk in range(30):
        m = random_walk(grammar, rng, rng.randrange(0, 14))
        pieces = grammar.completion(m.config)
        assert grammar.accepting(feed(grammar, m.config, pieces)), (name, walk)
        shortest = brute_force_distance(grammar, m.config, min(cost(pieces), BRUTE_FORCE_DEPTH))
        assert shortest == (cost(pieces) if cost(pieces) <= BRUTE_FORCE_DEPTH else None), (name, walk, pieces)
        checked += cost(pieces) <= BRUTE_FORCE_DEPTH
        tokens = m.completion()  # the matcher's token form finishes the output too
        for tid in tokens:
            assert m.advance(tid), (name, walk, tokens)
        assert m.stopped
    assert checked >= 15, checked  # most walks are searched to the end


def test_completion_picks_the_cheaper_derivation_over_a_long_literal():
    grammar = compile_grammar(SMALL_GRAMMARS["long_literal_or_short_detour"], small_vocab())
    config = feed(grammar, grammar.initial, [b"a"])
    assert grammar.completion(config) == [b"cccc!"]


def test_completion_inside_a_terminal_finishes_it_first():
    grammar = compile_grammar(SMALL_GRAMMARS["json"], small_vocab())
    config = feed(grammar, grammar.initial, [b'{"ab'])
    assert grammar.completion(config) == [b'":0}']


def test_completion_through_a_special_token():
    vocab = small_vocab()
    grammar = compile_grammar(SMALL_GRAMMARS["special_literal"], vocab, forbid_special_text=("</think>",))
    config = feed(grammar, grammar.initial, [b"hm"])
    assert grammar.completion(config) == [THINK_END, b"k"]


@pytest.mark.skipif(not maskbench.MASKBENCH.is_dir(), reason=f"no MaskBench data at {maskbench.MASKBENCH}")
def test_completion_finishes_random_prefixes_of_valid_maskbench_instances(a_series_tokenizer):
    rng = random.Random(9)
    finished = 0
    for case in maskbench.load_cases(every=40):
        try:
            grammar = compile_json_schema(case.schema, a_series_tokenizer)
        except GrammarError:
            continue
        for test in [t for t in case.tests if t["valid"]][:2]:
            data = json.dumps(test["data"], ensure_ascii=False).encode()
            for cut in sorted(rng.sample(range(len(data) + 1), min(3, len(data) + 1))):
                config = feed(grammar, grammar.initial, [data[:cut]]) if cut else grammar.initial
                pieces = grammar.completion(config)
                assert grammar.accepting(feed(grammar, config, pieces)), (case.name, cut, pieces)
                finished += 1
    assert finished > 100


def key_grammar(key: str) -> str:
    """An object whose key is either the declared `key` or any other string, values any JSON
    value: the shape a schema with one required property compiles to."""
    return "\n".join([
        'start: "{" pair (COMMA pair)* "}"',
        f'pair: "\\"{key}\\"" COLON STRING | STRING COLON value',
        'value: object | array | STRING | NUMBER | "true" | "null"',
        'object: "{" [STRING COLON value (COMMA STRING COLON value)*] "}"',
        'array: "[" [value (COMMA value)*] "]"',
        r'STRING: /"[^"\\\x00-\x1f]*"/',
        'NUMBER: /-?[0-9]+/',
        'COMMA: /, ?/',
        'COLON: /: ?/',
    ])


def test_completion_at_every_byte_of_a_1000_character_key(a_series_tokenizer):
    key = "".join(random.Random(1).choice("abcdefghij") for _ in range(1000))
    grammar = compile_grammar(key_grammar(key), a_series_tokenizer)
    text = json.dumps({key: "v"}).encode()
    with hang_guard(10):
        m = grammar.matcher()
        for i, b in enumerate(text):
            tokens = m.completion()
            if i in (0, 500, 1001):  # from the start, mid-key, after it: the completion finishes the object
                assert grammar.accepting(feed(grammar, m.config, grammar.completion(m.config)))
            assert m.advance(grammar.vocab.by_bytes[bytes([b])])
    assert len(tokens) <= 3  # at the closing brace: "}" (or so) and the stop token


def test_completion_of_deep_nesting_is_linear_in_the_stack():
    grammar = compile_grammar(SMALL_GRAMMARS["json"], small_vocab())
    depth = 600
    config = grammar.initial
    for b in b'[{"a":' * depth:
        config = grammar.step(config, b)
    with hang_guard(10):
        pieces = grammar.completion(config)
        assert cost(pieces) == 2 * depth + 1  # a value, then "}]" per level
        for extra in range(1, 4):  # deeper by one level at a time: the levels below are not rebuilt
            config = grammar.step(config, ord("["))
            pieces = grammar.completion(config)
            assert cost(pieces) == 2 * depth + extra  # "]" per "[" (an empty array is the value)
    assert grammar.accepting(feed(grammar, config, pieces))


def test_completion_longer_than_the_limit_is_a_typed_error():
    from a3agent.grammars.engine.limits import limits, set_limits

    grammar = compile_grammar(SMALL_GRAMMARS["json"], small_vocab())
    config = grammar.initial
    for b in b"[" * 50:
        config = grammar.step(config, b)
    saved = limits().shortest_text
    set_limits(shortest_text=40)
    try:
        with pytest.raises(GrammarTooComplex) as e:
            grammar.completion(config)
        assert e.value.limit == "shortest_text"
    finally:
        set_limits(shortest_text=saved)
