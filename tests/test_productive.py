"""`productive_rules` (rule bodies read without lark) against the fixed point over lark's BNF rules."""

from __future__ import annotations

import random

import pytest

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.lr import load_rules
from a3agent.grammars.schema.productive import productive_rules


def _by_lark(rules: dict[str, str]) -> set[str]:
    text = "start: " + " | ".join(rules) + "\n" + "".join(f"{n}: {b}\n" for n, b in rules.items()) + "%declare T U\n"
    productive: set[str] = set()
    bnf = load_rules(text)[1]
    changed = True
    while changed:
        changed = False
        for rule in bnf:
            name = rule.origin.name
            if name not in productive and all(s.is_term or s.name in productive for s in rule.expansion):
                productive.add(name)
                changed = True
    return productive & set(rules)


@pytest.mark.parametrize("rules, expected", [
    ({"a": '"x" b?', "b": "b"}, {"a"}),
    ({"a": "a"}, set()),
    ({"a": "(a | T)"}, {"a"}),
    ({"a": "T a"}, set()),
    ({"a": "[a] U", "b": "a~2", "c": "b~0..3 c", "d": "c~1 | /re\\/x/"}, {"a", "b", "d"}),
    ({"a": "b+", "b": '"\\"q\\"" a'}, set()),
    ({"a": "()", "b": "(b | (T (a)))"}, {"a", "b"}),
])
def test_hand_written(rules, expected):
    assert productive_rules(rules) == expected == _by_lark(rules)


def _random_body(rng: random.Random, names: list[str], depth: int = 0) -> str:
    """Bodies without `?`, `[ ]` or `~n..m`: lark expands those by copying alternatives, which is
    exponential in their nesting (the hand-written cases above cover them)."""
    parts = []
    for _ in range(rng.randint(0, 3)):
        kind = rng.random()
        if kind < 0.4:
            atom = rng.choice(names)
        elif kind < 0.6:
            atom = rng.choice(["T", "U", '"k"', "/z+/"])
        elif depth < 2:
            inner = " | ".join(_random_body(rng, names, depth + 1) or "T" for _ in range(rng.randint(1, 3)))
            atom = f"({inner})"
        else:
            atom = "T"
        parts.append(atom + rng.choice(["", "", "*", "+", "~2"]))
    return " ".join(parts)


@pytest.mark.parametrize("seed", range(200))
def test_random_rules_agree_with_lark(seed):
    rng = random.Random(seed)
    names = [f"r{k}" for k in range(rng.randint(1, 6))]
    rules = {name: _random_body(rng, names) or "T" for name in names}
    try:
        expected = _by_lark(rules)
    except MalformedGrammar:  # lark refuses rules whose optionals expand to the same production
        pytest.skip("lark refuses this grammar (colliding expansions)")
    assert productive_rules(rules) == expected


@pytest.mark.parametrize("body", ["(a", "a)", "[a)", "a ]", "a @"])
def test_unreadable_bodies_are_malformed(body):
    with pytest.raises(MalformedGrammar):
        productive_rules({"a": body})
