"""MaskBench protocol through the token-mask engine, on real vocabularies.

Token by token: the mask must contain every token of a valid instance and the instance must be
accepted at the end; an invalid instance must leave the mask or end incomplete. A spread sample of
the shared files keeps the suite fast; `benchmarks/masks.py` runs all 1,860 beside the peers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import maskbench  # noqa: E402

from a3agent.errors import GrammarError  # noqa: E402
from a3agent.grammars import compile_json_schema  # noqa: E402

pytestmark = pytest.mark.skipif(not maskbench.MASKBENCH.is_dir(), reason=f"no MaskBench data at {maskbench.MASKBENCH}")


def _refusal(e: Exception) -> str | None:
    return type(e).__name__ if isinstance(e, GrammarError) else None


def _out_of_schema_order(schema, data) -> bool:
    """True if some object in `data` lists declared properties in another order than `schema`."""
    if isinstance(data, dict) and isinstance(schema, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        order = [list(props).index(k) for k in data if k in props]
        if order != sorted(order):
            return True
        return any(_out_of_schema_order(props.get(k, {}), v) for k, v in data.items())
    if isinstance(data, list) and isinstance(schema, dict) and isinstance(schema.get("items"), dict):
        return any(_out_of_schema_order(schema["items"], v) for v in data)
    return False


def _check(report: maskbench.Report, cases: list[maskbench.Case]) -> None:
    assert report.crashed == []
    assert report.invalid_accepted == []
    # properties are generated and accepted in schema order (the documented contract): the only
    # valid instances that may be rejected are those that list keys in another order
    by_name = {c.name: c for c in cases}
    for rejected in report.valid_rejected:
        name, index = rejected.rsplit("#", 1)
        case = by_name[name]
        assert _out_of_schema_order(case.schema, case.tests[int(index)]["data"]), rejected
    assert report.compiled >= 0.7 * report.schemas, report.refused


@pytest.mark.parametrize("separators", [maskbench.DEFAULT_SEPARATORS, maskbench.COMPACT_SEPARATORS])
def test_tekken_sample_has_no_wrong_verdicts(separators):
    tokenizer = maskbench.tekken_tokenizer_cached()
    cases = maskbench.load_cases(every=61)
    report = maskbench.run(
        "a3agent", lambda s: compile_json_schema(s, tokenizer), maskbench.hf_encoder(tokenizer), cases, separators, _refusal
    )
    _check(report, cases)


def test_sentencepiece_sample_has_no_wrong_verdicts():
    pytest.importorskip("sentencepiece")
    sp = maskbench.sentencepiece_tokenizer()
    cases = maskbench.load_cases(every=73)
    report = maskbench.run(
        "a3agent", lambda s: compile_json_schema(s, sp), maskbench.sentencepiece_encoder(sp), cases,
        refusal_key=_refusal,
    )
    _check(report, cases)
