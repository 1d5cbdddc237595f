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


def _check(report: maskbench.Report) -> None:
    assert report.crashed == []
    assert report.invalid_accepted == []
    assert report.valid_rejected == []
    assert report.compiled >= 0.7 * report.schemas, report.refused


@pytest.mark.parametrize("separators", [maskbench.DEFAULT_SEPARATORS, maskbench.COMPACT_SEPARATORS])
def test_tekken_sample_has_no_wrong_verdicts(separators):
    tokenizer = maskbench.tekken_tokenizer_cached()
    cases = maskbench.load_cases(every=31)
    report = maskbench.run(
        "a3agent", lambda s: compile_json_schema(s, tokenizer), maskbench.hf_encoder(tokenizer), cases, separators, _refusal
    )
    _check(report)


def test_sentencepiece_sample_has_no_wrong_verdicts():
    pytest.importorskip("sentencepiece")
    sp = maskbench.sentencepiece_tokenizer()
    cases = maskbench.load_cases(every=37)
    report = maskbench.run(
        "a3agent", lambda s: compile_json_schema(s, sp), maskbench.sentencepiece_encoder(sp), cases,
        refusal_key=_refusal,
    )
    _check(report)
