"""Token tables shared by sub-automaton signature, and split walks over many shared prefixes."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from a3agent.grammars import compile_grammar
from a3agent.grammars.engine.automata import ByteDFA, regex_dfa
from a3agent.grammars.engine.token_table import token_table
from a3agent.grammars.engine.vocab import Vocabulary
from test_engine import JSON_GRAMMAR, assert_exact_masks_along, assert_exact_masks_along_random_walks, brute_force_mask


def alphabet_vocab(seed: int, alphabet: str = '{}[]",: tfalsenu0123.-e') -> Vocabulary:
    """Every byte plus hundreds of short random tokens over JSON's own characters, so split
    tokens share long prefixes that die at every depth."""
    rng = random.Random(seed)
    words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6))) for _ in range(600)}
    words |= {" true", " false", " null", '": ', '", "', "}}", "]}"}
    pieces: list[bytes | None] = [None] + [bytes([b]) for b in range(256)] + sorted(w.encode() for w in words)
    return Vocabulary.from_pieces(pieces, {"</s>": 0}, stop_ids=[0])


def test_equal_sub_automata_of_different_dfas_have_one_signature():
    quoted, keyed = regex_dfa(r'"[a-z]*"'), regex_dfa(r'k[a-z]*"')
    after_quote, after_k = quoted.run(0, b'"'), keyed.run(0, b"k")
    assert quoted.signature(after_quote) == keyed.signature(after_k)  # both: [a-z]*"
    assert quoted.signature(0) != keyed.signature(0)
    assert quoted.signature(after_quote) != regex_dfa(r'"[a-y]*"').signature(after_quote)


def _random_dfa(rng: random.Random, n: int) -> ByteDFA:
    """Rows of a few runs (as real automata have) over a few states, some accepting."""
    trans = np.full((n, 256), -1, dtype=np.int32)
    for row in trans:
        cuts = sorted(rng.sample(range(1, 256), rng.randint(0, 5)))
        for lo, hi in zip([0, *cuts], [*cuts, 256]):
            row[lo:hi] = rng.choice([-1, *range(n)])
    return ByteDFA(trans, np.array([rng.random() < 0.4 for _ in range(n)]))


def _canonical(dfa: ByteDFA, state: int) -> tuple:
    """The automaton reachable from `state`, numbered breadth first (successors by first byte),
    as whole rows: what two states' signatures must agree on."""
    order, number = [state], {state: 0}
    for s in order:
        for t in dfa.trans[s].tolist():
            if t >= 0 and t not in number:
                number[t] = len(order)
                order.append(t)
    return tuple((bool(dfa.accept[s]), tuple(number.get(t, -1) for t in dfa.trans[s].tolist())) for s in order)


def test_signatures_are_equal_exactly_for_equal_reachable_automata():
    rng = random.Random(7)
    dfas = [_random_dfa(rng, rng.randint(1, 4)) for _ in range(150)]
    states = [(dfa, s) for dfa in dfas for s in range(dfa.n_states)]
    by_signature: dict[bytes | None, set[tuple]] = {}
    for dfa, s in states:
        by_signature.setdefault(dfa.signature(s), set()).add(_canonical(dfa, s))
    assert None not in by_signature
    assert all(len(shapes) == 1 for shapes in by_signature.values())  # equal signature: equal automaton
    assert len(by_signature) == len({_canonical(dfa, s) for dfa, s in states})  # and the converse
    assert len(by_signature) > 50  # the draw is varied enough to mean something
    renumbered = dfas[0]
    perm = np.array(rng.sample(range(renumbered.n_states), renumbered.n_states), dtype=np.int32)
    trans = np.full_like(renumbered.trans, -1)
    live = renumbered.trans >= 0
    trans[perm] = np.where(live, perm[np.maximum(renumbered.trans, 0)], -1)
    accept = np.zeros_like(renumbered.accept)
    accept[perm] = renumbered.accept
    copy = ByteDFA(trans, accept)
    assert all(copy.signature(int(perm[s])) == renumbered.signature(s) for s in range(renumbered.n_states))


def test_a_state_reaching_too_many_states_has_no_signature():
    chain = regex_dfa("a{40}")
    assert chain.signature(0) is None
    assert chain.signature(chain.run(0, b"a" * 20)) is not None  # 21 states left


def test_shared_tables_equal_a_fresh_walk_of_every_token():
    vocab = alphabet_vocab(0)
    quoted, keyed = regex_dfa(r'"[a-z ]*"'), regex_dfa(r'k[a-z ]*"')
    token_table(vocab, quoted, quoted.run(0, b'"'))  # fills the shared cache first
    state = keyed.run(0, b"k")
    table = token_table(vocab, keyed, state)
    inside = np.zeros(vocab.size, dtype=bool)
    table.add_inside(inside)
    for tid, data in enumerate(vocab.token_bytes):
        if data is None:
            continue
        end = keyed.run(state, data)
        assert inside[tid] == (end >= 0), data


def test_masks_with_many_dead_prefixes_equal_token_by_token_checks():
    for seed in range(3):
        assert_exact_masks_along_random_walks(compile_grammar(JSON_GRAMMAR, alphabet_vocab(seed)), random.Random(seed), 8, 25)


def test_masks_are_exact_when_every_memo_keeps_only_a_few_entries(monkeypatch):
    """The stack interning and the memos keyed by stacks start afresh when full: afterwards a stack
    equal to an older one may be a new object (another serial), and a configuration may hold both.
    That costs time, never an answer: with limits of a few entries, the masks equal token-by-token
    checks and a deep document still parses."""
    from a3agent.grammars.engine import grammar as grammar_module, lr as lr_module

    monkeypatch.setattr(lr_module, "_INTERNED_STACKS", 3)
    monkeypatch.setattr(lr_module, "_FEED_MEMO_SIZE", 3)
    monkeypatch.setattr(grammar_module, "_STEP_CACHE_SIZE", 3)
    vocab = alphabet_vocab(7)
    grammar = compile_grammar(JSON_GRAMMAR + "\n// tiny memos\n", vocab)
    assert_exact_masks_along_random_walks(grammar, random.Random(7), 6, 30)
    assert assert_exact_masks_along(grammar, vocab.tokenize(b"[" * 40 + b"1" + b"]" * 40)).accepting()


def test_masks_along_a_recursive_schema_equal_token_by_token_checks():
    """The same member ending at every depth of a recursive schema (stacks that share their top
    states, not what is below) gives exactly the token-by-token masks. (Memoising split tokens by
    the top states the parser read, rather than by stack, was tried against it: an off-by-one in
    the states kept failed it; the memo itself gained nothing measurable and was dropped.)"""
    from a3agent.grammars import compile_json_schema

    vocab = alphabet_vocab(13, alphabet='{}[]",: 0123-nkids')
    schema = {"type": "object", "required": ["n"], "additionalProperties": False, "properties": {
        "n": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}, "id": {"type": "string"}}}
    grammar = compile_json_schema(schema, vocab)
    scripted = b'{"n": 1, "kids": [{"n": 2, "kids": [{"n": 3, "id": "k"}, {"n": 4}]}, {"n": 5, "kids": []}], "id": "s"}'
    assert assert_exact_masks_along(grammar, vocab.tokenize(scripted)).accepting()
    assert_exact_masks_along_random_walks(grammar, random.Random(13), 5, 60)


def _lazy_dfa(pattern: str):
    from a3agent.grammars.engine.byte_regex import Nodes, parse_regex
    from a3agent.grammars.engine.lazy_dfa import LazyDFA

    nodes = Nodes()
    dfa = LazyDFA(nodes, parse_regex(pattern, nodes))
    dfa.explore(64)
    return dfa


def test_trie_walk_equals_the_row_walk():
    """Eager automata walk with a dead state padded on (where the last real state may accept);
    lazy ones build rows as the walk reaches them."""
    from a3agent.grammars.engine.token_table import _row_walk, _trie_walk

    vocab = alphabet_vocab(5)
    patterns = [r'"[^"\\]*"', r"[a-z ]+,", r"(?:true|false|null)[,\]}]", r'"(?:[^"\\a]|\\.)*a[^"]*"']
    assert any(regex_dfa(pattern).accepting[-1] for pattern in patterns)
    for dfa in [regex_dfa(pattern) for pattern in patterns] + [_lazy_dfa(pattern) for pattern in patterns]:
        for state in range(dfa.n_states):
            row = dfa.rows[state]
            firsts = [b for b in range(256) if row[b] >= 0]
            targets = [row[b] for b in firsts]
            if not firsts:
                continue
            inside, split_rows, split_pos = _row_walk(vocab, dfa, firsts, targets)
            trie_inside, trie_rows, trie_pos = _trie_walk(vocab, dfa, firsts, targets)
            assert np.array_equal(inside, trie_inside)
            assert sorted(zip(split_rows.tolist(), split_pos.tolist())) == sorted(
                zip(trie_rows.tolist(), trie_pos.tolist()))


def test_node_by_node_tables_equal_the_numpy_walks():
    """States with few live bytes get their table from the prefix tree, node by node; it must be
    the table the slice walks build (same inside ids, same splits), and a state that meets too
    many nodes must hand over (None) rather than walk the vocabulary in Python."""
    from a3agent.grammars.engine.token_table import _compute, _sparse_table

    vocab = alphabet_vocab(7)
    walked = 0
    for pattern in [r'"(?:name|nap|nu)"', r"(?:true|false|null)[,\]}]", r"-?[0-9]{1,3}(?:\.[0-9]+)?", r'"[^"\\]*"']:
        dfa = regex_dfa(pattern)
        for state in range(dfa.n_states):
            sparse = _sparse_table(vocab, dfa, state)
            if sparse is None:
                continue
            walked += 1
            full = _compute(vocab, dfa, state)
            full_inside = np.flatnonzero(full.inside_mask) if full.inside_mask is not None else full.inside_ids
            assert np.array_equal(np.sort(sparse.inside_ids), np.sort(full_inside)), (pattern, state)
            assert sorted(zip(sparse.split_rows.tolist(), sparse.split_pos.tolist())) == sorted(
                zip(full.split_rows.tolist(), full.split_pos.tolist())), (pattern, state)
            assert sparse.split_ranges.keys() == full.split_ranges.keys()
    assert walked > 10
    string_body = regex_dfa(r'"[^"\\]*"').run(0, b'"')
    assert _sparse_table(vocab, regex_dfa(r'"[^"\\]*"'), string_body) is None  # meets every node


def _same_table(a, b) -> bool:
    """Two tables list the same inside tokens and the same splits, however each stores them."""
    def inside(t):
        return np.flatnonzero(t.inside_mask) if t.inside_mask is not None else np.sort(t.inside_ids)

    return np.array_equal(inside(a), inside(b)) and sorted(zip(a.split_rows.tolist(), a.split_pos.tolist())) == sorted(
        zip(b.split_rows.tolist(), b.split_pos.tolist())
    ) and a.split_ranges.keys() == b.split_ranges.keys()


def test_literals_that_end_alike_share_their_last_states_tables():
    """A literal's state fares on tokens by the text ahead alone: `"first_name"` after 7 bytes and
    `"last_name"` after 6 share one table (`name"` ahead), equal to a fresh walk of each; text
    ahead past the longest token is never read, so differing there still shares."""
    from a3agent.grammars.engine.automata import literal_dfa
    from a3agent.grammars.engine.token_table import _compute

    vocab = alphabet_vocab(5)
    first, last = literal_dfa(b'"first_name"'), literal_dfa(b'"last_name"')
    for a, b in [(7, 6), (11, 10), (12, 11), (5, 4)]:  # `name"`, `"`, the end, `_name"`
        ta, tb = token_table(vocab, first, a), token_table(vocab, last, b)
        assert ta.serial == tb.serial, (a, b)
        assert _same_table(ta, _compute(vocab, first, a)) and _same_table(tb, _compute(vocab, last, b))
    assert token_table(vocab, first, 1).serial != token_table(vocab, last, 1).serial
    far = vocab.max_len + 1
    x, y = literal_dfa(b"ab" * far + b"x"), literal_dfa(b"ab" * far + b"y")
    assert token_table(vocab, x, 0).serial == token_table(vocab, y, 0).serial
    assert _same_table(token_table(vocab, y, 0), _compute(vocab, y, 0))
    grammar = compile_grammar('start: "{" ("\\"first_name\\"" | "\\"last_name\\"") ":" "1" "}"', vocab)
    for text in (b'{"first_name":1}', b'{"last_name":1}'):
        assert assert_exact_masks_along(grammar, vocab.tokenize(text)).accepting()


@pytest.mark.parametrize("nodes", [256, 1])
def test_tables_patched_from_a_successor_equal_the_full_walks(monkeypatch, nodes):
    """A state whose row differs from a successor's in a few bytes (the start of an "any other
    key" terminal, a state spelling a declared name) gets that successor's table corrected where
    the two walks differ, node by node (or, past the node budget, by walking every token that
    starts with those bytes); it must equal the table walked in full, for every state that patches."""
    from a3agent.grammars import compile_json_schema
    from a3agent.grammars.engine import token_table as token_table_module
    from a3agent.grammars.engine.token_table import _compute, _patched

    monkeypatch.setattr(token_table_module, "_SPARSE_NODES", nodes)

    vocab = alphabet_vocab(11, alphabet='{}[]",: tfalsenu0123.-e\\')
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "nu": {}, "tale": {"type": "integer"}, "": {}}}
    grammar = compile_json_schema(schema, vocab)
    patched = 0
    for name, dfa in grammar.dfas.items():
        for state in range(getattr(dfa, "n_states", 0)):
            table = _patched(vocab, dfa, state)
            if table is not None:
                patched += 1
                assert _same_table(table, _compute(vocab, dfa, state)), (name, state)
    assert patched >= 5
    m = grammar.matcher()
    for tid in vocab.tokenize(b'{"names": "a\\"", "nu": [1], "tale": 3, "": null}'):
        assert np.array_equal(m.mask(), brute_force_mask(grammar, m.config)), m.config
        assert m.advance(tid)


@pytest.mark.parametrize("nodes", [256, 1])
def test_an_opening_quote_into_a_key_trie_takes_the_shared_body_start_corrected(monkeypatch, nodes):
    """The start of an "any other key" automaton (one live byte, the quote, into the trie's root)
    gets the table of a quote into the string body, kept for every automaton with that body, and
    corrected where the root and the body part; it must equal the table walked in full, also past
    the node budget, and the masks along a document must stay exact."""
    from a3agent.grammars import compile_json_schema
    from a3agent.grammars.engine import token_table as token_table_module
    from a3agent.grammars.engine.token_table import _compute, _started_like

    monkeypatch.setattr(token_table_module, "_SPARSE_NODES", nodes)
    vocab = alphabet_vocab(13, alphabet='{}[]",: tfalsenu0123.-e\\')
    started = set()
    for names in (["name", "nu", "tale", ""], ["nuts", "a"], ["e\"", "\\"]):
        schema = {"type": "object", "properties": {n: {"type": "integer"} for n in names}}
        grammar = compile_json_schema(schema, vocab)
        for name, dfa in grammar.dfas.items():
            if getattr(dfa, "structure", None) is None or len(dfa.next_bytes[0]) != 1:
                continue
            table = _started_like(vocab, dfa, 0)
            if table is not None:
                started.add(tuple(names))
                assert _same_table(table, _compute(vocab, dfa, 0)), (names, name)
        document = json.dumps({n: 1 for n in names} | {"other": 2, "n": 3}).encode()
        m = grammar.matcher()
        for tid in vocab.tokenize(document):
            assert np.array_equal(m.mask(), brute_force_mask(grammar, m.config)), m.config
            assert m.advance(tid)
    assert len(started) == 3


def test_a_mask_asked_again_after_it_left_the_cache_equals_the_one_computed(monkeypatch):
    from a3agent.grammars.engine import grammar as grammar_module

    vocab = alphabet_vocab(3)
    monkeypatch.setattr(grammar_module._WHOLE_MASKS, "limit", 2 * vocab.size)  # so masks leave
    grammar = compile_grammar(JSON_GRAMMAR, vocab)
    m = grammar.matcher()
    computed = []
    for tid in vocab.tokenize(b'{"a": [1, true, "x"]}'):
        computed.append((m.config, m.mask().copy()))
        assert m.advance(tid)
    left = 0
    for config, mask in computed:
        left += grammar._mask_keys[grammar_module._key(config)] not in grammar_module._WHOLE_MASKS.items
        again = grammar.mask(config)
        assert np.array_equal(again, mask) and again.dtype == bool and not again.flags.writeable
    assert left >= len(computed) - 2


def test_the_mask_cache_stays_within_its_bytes_across_grammars(monkeypatch):
    from a3agent.grammars.engine import grammar as grammar_module

    vocab = alphabet_vocab(4)
    whole = grammar_module._ByteBoundedLRU(10 * (vocab.size + grammar_module._ENTRY_BYTES), spares=4)
    monkeypatch.setattr(grammar_module, "_WHOLE_MASKS", whole)
    for seed in range(3):  # distinct grammar objects, each with its own serial
        grammar = compile_grammar(JSON_GRAMMAR + f"\n// {seed}\n", vocab)
        m = grammar.matcher()
        for tid in vocab.tokenize(b'{"a": [1, true, "x"], "b": {"c": null}}'):
            m.mask()
            assert m.advance(tid)
            assert whole.used <= whole.limit
            assert whole.used == sum(a.nbytes + grammar_module._ENTRY_BYTES for a in whole.items.values())
    assert len(whole.items) == 10


def test_configurations_made_of_the_same_tables_share_one_mask():
    """Two grammars (or two configurations of one) whose masks come from the same token tables
    are handed the same array: the second is not assembled again."""
    vocab = alphabet_vocab(3)
    text = b'{"a": [1, true, "x"], "b": {"c": null}}'
    first = compile_grammar(JSON_GRAMMAR + "\n// first\n", vocab)
    second = compile_grammar(JSON_GRAMMAR + "\n// second\n", vocab)
    assert first is not second
    m1, m2 = first.matcher(), second.matcher()
    for tid in vocab.tokenize(text):
        mask = m1.mask()
        assert m2.mask() is mask
        assert np.array_equal(mask, brute_force_mask(second, m2.config))
        assert m1.advance(tid) and m2.advance(tid)


def test_masks_made_of_hundreds_of_tables_are_kept_by_short_names():
    """After a `{` or `,` of an object with 200 properties a mask is made of hundreds of tables;
    its key, and the names of split results, stay a few ints (a digest past eight serials), so the
    memos of a grammar cannot grow with the number of properties."""
    from a3agent.grammars import compile_json_schema
    from a3agent.grammars.engine import grammar as grammar_module

    vocab = alphabet_vocab(9)
    names = [f"k{i}" for i in range(200)]
    schema = {"type": "object", "properties": {n: {"type": "integer"} for n in names}, "additionalProperties": False}
    grammar = compile_json_schema(schema, vocab)
    assert_exact_masks_along(grammar, vocab.tokenize(b'{"k0": 1, "k7": 2}'))
    keys = [key[1] for key in grammar._mask_keys.values()]
    assert any(len(k) == 1 and k[0] & grammar_module._DIGEST_TAG for k in keys)
    assert all(len(k) <= grammar_module._SPELLED_SERIALS for k in keys)
    assert all(len(v) <= grammar_module._SPELLED_SERIALS for v in grammar._split_serials.values())


def test_evicted_masks_are_recycled_only_when_nobody_holds_them(monkeypatch):
    """A mask a caller still holds (or a view of it) keeps its contents however many masks are
    computed after it; masks nobody holds are reused, cleared, for new ones."""
    from a3agent.grammars.engine import grammar as grammar_module

    vocab = alphabet_vocab(3)
    whole = grammar_module._ByteBoundedLRU(2 * (vocab.size + grammar_module._ENTRY_BYTES), spares=4)
    monkeypatch.setattr(grammar_module, "_WHOLE_MASKS", whole)
    reused = []

    class Spares(list):
        def pop(self, *args):
            reused.append(super().pop(*args))
            return reused[-1]

    whole.spares = Spares()
    grammar = compile_grammar(JSON_GRAMMAR + "\n// recycled\n", vocab)
    fresh = grammar.matcher()
    held, copies, view = [], [], None
    m = grammar.matcher()
    for i, tid in enumerate(vocab.tokenize(b'{"a": [1, true, "x"], "b": {"c": null}, "d": [2]}')):
        mask = m.mask()
        if i % 3 == 0:
            held.append(mask)
            copies.append(mask.copy())
        elif view is None:
            view, view_copy = mask[1:], mask[1:].copy()
        assert m.advance(tid)
    assert reused  # evicted masks nobody held were recycled...
    for mask, copy in zip(held, copies):  # ...and the held ones kept their contents
        assert np.array_equal(mask, copy) and not mask.flags.writeable
    assert np.array_equal(view, view_copy)
    walked = fresh  # a recycled mask comes back cleared: the same answers as a fresh grammar
    other = compile_grammar(JSON_GRAMMAR + "\n// reference\n", vocab).matcher()
    for tid in vocab.tokenize(b'{"a": [1, true, "x"]}'):
        assert np.array_equal(walked.mask(), other.mask())
        assert walked.advance(tid) and other.advance(tid)


def test_the_loaded_tables_kept_as_objects_stay_bounded(monkeypatch):
    from a3agent.grammars.engine import token_table as token_table_module

    vocab = alphabet_vocab(6)
    monkeypatch.setattr(token_table_module, "_LIVE_TABLES", 5)
    monkeypatch.setattr(token_table_module, "_LIVE", {})
    grammar = compile_grammar(JSON_GRAMMAR + "\n// live tables\n", vocab)
    m = grammar.matcher()
    seen: set[int] = set()
    for tid in vocab.tokenize(b'{"a": [1, true, "x"], "b": {"c": null}}'):
        m.mask()
        assert m.advance(tid)
        assert len(token_table_module._LIVE) <= 5
        seen |= token_table_module._LIVE.keys()
    assert len(seen) > 5  # more tables than the bound went through it


def test_cached_tables_and_slices_drop_out_of_the_collectors_view():
    """Tables, suffix tables and slices are cached as plain tuples so that full collections do not
    walk the tens of thousands a long run gathers: once the collector has seen them, none is
    tracked any more."""
    import gc

    from a3agent.grammars.engine import token_table as token_table_module

    vocab = alphabet_vocab(5)
    grammar = compile_grammar(JSON_GRAMMAR + "\n// untracked\n", vocab)
    m = grammar.matcher()
    for tid in vocab.tokenize(b'{"a": [1, true, "x"], "b": {"c": null}}'):
        m.mask()
        assert m.advance(tid)
    gc.collect()
    gc.collect()  # a tuple drops out once everything in it has: one nesting level a collection
    cached = [*token_table_module._TABLES.values(), *token_table_module._SUFFIX_TABLES.values(),
              *token_table_module._SLICES.values()]
    for dfa in grammar.dfas.values():
        for name in ("_private_tables", "_private_suffix_tables", "_private_slices"):
            cached.extend(dfa.__dict__.get(name, {}).values())
    assert len(cached) > 10
    assert not [entry for entry in cached if gc.is_tracked(entry)]


def test_a_token_crossing_thousands_of_terminals_is_masked_without_recursion():
    """Each terminal end inside a token is one more level of split suffixes: a 4,501-byte token of
    `,[]` runs (past Python's recursion limit) must be masked, and masked right."""
    pieces: list[bytes | None] = [None] + [bytes([b]) for b in range(256)] + [b"[" + b",[]" * 1500, b"[]" * 1500]
    vocab = Vocabulary.from_pieces(pieces, {"</s>": 0}, stop_ids=[0])
    grammar = compile_grammar('start: list\nlist: "[" (ITEM | list)* "]"\nITEM: ","\n', vocab)
    m = grammar.matcher()
    mask = m.mask()
    assert mask[257] and not mask[258]
    assert np.array_equal(mask, brute_force_mask(grammar, m.config))
    assert m.advance(257)
    assert np.array_equal(m.mask(), brute_force_mask(grammar, m.config))


def test_forced_and_completion_tokens_stay_within_their_bytes(monkeypatch):
    """A completion is as long as what is left to write: the caches count its tokens, not entries."""
    from a3agent.grammars.engine import grammar as grammar_module

    vocab = alphabet_vocab(5)
    text = "tf" * 600
    limit = 3 * (len(text) * 4 + grammar_module._ENTRY_BYTES)  # about three whole completions
    for name in ("_COMPLETION_TOKENS", "_FORCED_TOKENS"):
        monkeypatch.setattr(grammar_module, name, grammar_module._ByteBoundedLRU(limit))
    grammar = compile_grammar(f'start: "{text}"', vocab)
    m = grammar.matcher()
    for step, tid in enumerate(vocab.tokenize(text.encode())[:60]):
        completion = m.completion()
        assert completion == grammar.pieces_to_tokens(grammar.completion(m.config)) + list(grammar.stop_ids[:1])
        assert m.forced() == grammar.pieces_to_tokens(grammar.forced(m.config)[0])
        for cache in (grammar_module._COMPLETION_TOKENS, grammar_module._FORCED_TOKENS):
            assert cache.used <= cache.limit, step
        assert m.advance(tid)
    assert len(grammar_module._COMPLETION_TOKENS.items) <= 3


def test_an_opening_byte_that_begins_too_many_tokens_is_not_walked_again_for_each_automaton(monkeypatch):
    """When the shared table of an opening quote into the string body meets more trie nodes than a
    node-by-node walk may visit, the next key automaton goes straight to its own walk: the failed
    walk is remembered, not repeated per object, and the tables stay exact."""
    from a3agent.grammars import compile_json_schema
    from a3agent.grammars.engine import token_table as token_table_module
    from a3agent.grammars.engine.token_table import _compute, _started_like

    monkeypatch.setattr(token_table_module, "_SPARSE_NODES", 1)
    monkeypatch.setattr(token_table_module, "_UNSTARTED", set())
    vocab = alphabet_vocab(17, alphabet='{}[]",: tfalsenu0123.-e\\\\')
    walks = []
    inner = token_table_module._sparse_table
    monkeypatch.setattr(token_table_module, "_sparse_table", lambda *args: walks.append(args[3:]) or inner(*args))
    for names in (["name", "nu"], ["tale", "a"], ["e", "fa"]):
        grammar = compile_json_schema({"type": "object", "properties": {n: {"type": "integer"} for n in names}}, vocab)
        (dfa,) = [d for n, d in grammar.dfas.items() if n.endswith("KEY")]
        assert _started_like(vocab, dfa, 0) is None
        assert _same_table(token_table(vocab, dfa, 0), _compute(vocab, dfa, 0))
    assert sum(1 for extra in walks if extra) == 1  # the start from the body, walked once
