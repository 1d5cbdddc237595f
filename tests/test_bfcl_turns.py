"""BFCL simple: every ground-truth call, as a whole assistant turn, is accepted token by token in
each dialect; a wrong tool name, a missing required argument or a wrongly typed one is not."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bfcl  # noqa: E402
from maskbench import BFCL  # noqa: E402

from a3agent.grammars import TurnOptions, compile_turn  # noqa: E402

pytestmark = pytest.mark.skipif(not BFCL.is_dir(), reason=f"BFCL data not found at {BFCL}")

DIALECTS = ["hermes-json", "qwen3-xml"]


def accepts(grammar, tokenizer, text: str) -> bool:
    m = grammar.matcher()
    for tid in tokenizer.encode(text, add_special_tokens=False):
        if not m.mask()[tid]:
            return False
        assert m.advance(tid)
    return m.accepting()


@pytest.fixture(scope="module")
def cases():
    return bfcl.load_cases()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_ground_truth_turn_is_accepted(cases, a_series_tokenizer, dialect):
    rejected = []
    for case in cases:
        grammar = compile_turn(bfcl.tool_dicts(case), a_series_tokenizer, TurnOptions(dialect=dialect))
        if not accepts(grammar, a_series_tokenizer, bfcl.render_turn(case.name, case.arguments, dialect)):
            rejected.append(case.id)
    assert rejected == []


def _required(case) -> list[str]:
    function = next(f for f in case.functions if f["name"] == case.name)
    return [k for k in function["parameters"].get("required", []) if k in case.arguments]


def _mistyped(value):
    """A value of another JSON type than `value`."""
    if isinstance(value, str):
        return [1, 2]
    if isinstance(value, (bool, int, float)):
        return "not a number" if not isinstance(value, bool) else 17
    return True


@pytest.mark.parametrize("dialect", DIALECTS)
def test_wrong_name_missing_argument_and_wrong_type_are_rejected(cases, a_series_tokenizer, dialect):
    checked = 0
    for case in cases[::8]:
        required = _required(case)
        if not required:
            continue
        grammar = compile_turn(bfcl.tool_dicts(case), a_series_tokenizer, TurnOptions(dialect=dialect))
        wrong_name = bfcl.render_turn(case.name + "_x", case.arguments, dialect)
        assert not accepts(grammar, a_series_tokenizer, wrong_name), case.id
        missing = {k: v for k, v in case.arguments.items() if k != required[0]}
        assert not accepts(grammar, a_series_tokenizer, bfcl.render_turn(case.name, missing, dialect)), case.id
        mistyped = copy.deepcopy(case.arguments)
        mistyped[required[0]] = _mistyped(mistyped[required[0]])
        schema = next(f for f in case.functions if f["name"] == case.name)["parameters"]["properties"][required[0]]
        if schema.get("type") in ("string", "integer", "float", "number", "boolean", "dict", "object"):
            if not (dialect == "qwen3-xml" and schema.get("type") == "string" and "enum" not in schema):
                # a raw XML string value accepts any text, so a "wrong type" does not exist there
                assert not accepts(grammar, a_series_tokenizer, bfcl.render_turn(case.name, mistyped, dialect)), case.id
        checked += 1
    assert checked >= 30
