"""Character automata built straight into byte DFAs (`spelled_dfa`), and what the schema compiler
hands the compiler as `%declare`d terminals: the same language as the rules of the grammar text."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from a3agent.errors import MalformedGrammar
from a3agent.grammars import compile_grammar
from a3agent.grammars.engine.automata import ByteDFA, regex_dfa, row_classes
from a3agent.grammars.engine.byte_regex import Nodes
from a3agent.grammars.engine.spelled_dfa import spelled_dfa
from a3agent.grammars.schema.json_schema import SchemaRules, schema_source

WORDS = ["id", "name", "naïve", "a\"b", "tab\there", "x/y", "日本"]
SCHEMA = {"type": "object", "properties": {w: {"type": "integer"} for w in WORDS}}


def accepts(dfa: ByteDFA, data: bytes) -> bool:
    state = dfa.run(0, data)
    return state >= 0 and bool(dfa.accept[state])


def key_dfa() -> ByteDFA:
    """The automaton of the undeclared keys of SCHEMA, as the compiler gets it."""
    rules = SchemaRules()
    rules.add(SCHEMA, "root")
    (dfa,) = [d for name, d in rules.automata.items() if name.startswith("ROOT_KEY")]
    return dfa


def test_words_spelled_as_bytes_build_the_union_of_their_spellings():
    nodes = Nodes()
    ab, c = nodes.seq(nodes.chars([(0x61, 0x61)]), nodes.chars([(0x62, 0x62)])), nodes.chars([(0xE9, 0xE9)])
    dfa = spelled_dfa(nodes, "s", frozenset({"t"}), {"s": [(ab, "m")], "m": [(c, "t"), (ab, "m")]})
    for text, ok in [("abé", True), ("ababé", True), ("ab", False), ("é", False), ("abe", False), ("abéé", False)]:
        assert accepts(dfa, text.encode()) is ok, text


def test_the_undeclared_key_automaton_takes_every_json_spelling_of_other_keys_and_no_declared_one():
    dfa = key_dfa()
    for word in WORDS:
        for spelled in {json.dumps(word), json.dumps(word, ensure_ascii=False)}:
            assert not accepts(dfa, spelled.encode()), spelled
    for other in ["", "i", "idx", "nam", "names", "naive", "日", "日本語", "a\"", "tab", "\u0000", "😀"]:
        for spelled in {json.dumps(other), json.dumps(other, ensure_ascii=False)}:
            assert accepts(dfa, spelled.encode()), spelled
    # printable ASCII has one spelling (json.lark): a declared key cannot come back escaped as "other"
    assert not accepts(dfa, b'"\\u0069\\u0064"')


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=6))
def test_the_key_automaton_agrees_with_the_words_on_any_string(text):
    dfa = key_dfa()
    assert accepts(dfa, json.dumps(text, ensure_ascii=False).encode()) is (text not in WORDS)


def test_schema_source_declares_its_automata_and_the_text_stays_self_contained():
    source = schema_source(SCHEMA)
    assert "%declare ROOT_KEY" in source.text
    assert {"ROOT_KEY", "STRING", "COMMA"} <= set(source.automata)


def test_a_declared_terminal_without_an_automaton_is_a_malformed_grammar(a_series_tokenizer):
    with pytest.raises(MalformedGrammar, match="no automaton"):
        compile_grammar('start: "{" KEYS "}"\n%declare KEYS\n', a_series_tokenizer)


def test_row_classes_number_equal_rows_in_order_of_first_appearance():
    rows = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4]])
    firsts, inverse = row_classes(rows)
    assert firsts.tolist() == [0, 1, 3]
    assert inverse.tolist() == [0, 1, 0, 2, 1]


def test_distances_run_backwards_over_a_long_chain():
    dfa = regex_dfa("a{300}b")
    assert isinstance(dfa, ByteDFA)
    assert int(dfa.distance[0]) == 301


def test_text_spells_the_automata_of_schemas_added_after_an_earlier_text():
    rules = SchemaRules()
    first = rules.add({"type": "object", "properties": {"a": {"type": "integer"}}}, "one")
    rules.text()
    second = rules.add({"type": "object", "properties": {"b": {"type": "integer"}}}, "two")
    text = rules.text()
    defined = {line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")}
    used = set(re.findall(r"\b(?:one|two)_key\w*\b", text))
    assert {first, second} <= defined and used <= defined


def _undeclared_key_dfa(words: list[str]) -> ByteDFA:
    rules = SchemaRules()
    rules.add({"type": "object", "properties": {w: {"type": "integer"} for w in words}}, "root")
    (dfa,) = [d for name, d in rules.automata.items() if name.startswith("ROOT_KEY")]
    return dfa


def _walked(dfa: ByteDFA, state: int) -> bytes | None:
    """The signature of `state` walked afresh (no structure key, no memo)."""
    return ByteDFA(dfa.trans, dfa.accept).signature(state)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="abcé\"\\", min_size=1, max_size=6), min_size=1, max_size=8, unique=True))
def test_a_signature_read_by_structure_key_is_the_one_a_walk_gives(words):
    """The key automaton's states reached at a state of the character automaton take their
    signature from any automaton whose part from there has the same canonical form: it must be
    the signature a walk of this automaton gives (a wrong one would hand out another state's
    token table)."""
    for some in (words, words[: len(words) // 2 + 1], [w + "z" for w in words]):
        dfa = _undeclared_key_dfa(some)
        keyed = [s for s in range(dfa.n_states) if dfa.structure is not None and dfa.structure(s) is not None]
        assert keyed, "every key automaton has states reached at a character state"
        for state in keyed:
            assert dfa.signature(state) == _walked(dfa, state)


def test_the_string_body_of_a_new_key_automaton_is_signed_without_a_walk(monkeypatch):
    """Past the declared names, every key automaton goes on as the same string body; the second
    automaton reads that state's signature from the first's."""
    first, second = _undeclared_key_dfa(["alpha", "beta"]), _undeclared_key_dfa(["gamma", "delta", "x"])
    body = {}
    for dfa in (first, second):  # the state most bytes lead to from the trie's root: "left the trie"
        root = dfa.rows[0][ord('"')]
        body[dfa] = max((t for t in set(dfa.rows[root]) if t >= 0), key=dfa.rows[root].count)
    expected = first.signature(body[first])
    assert expected is not None
    walks: list[int] = []
    inner = ByteDFA._walked_signature
    monkeypatch.setattr(ByteDFA, "_walked_signature", lambda self, state: walks.append(state) or inner(self, state))
    assert second.signature(body[second]) == expected
    assert walks == []
    assert expected == _walked(second, body[second])
