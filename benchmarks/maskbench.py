"""The MaskBench protocol (see ../shared/data/README.md), shared by the benchmark and the tests.

For each schema: compile it; for each test instance, encode `json.dumps(data)` with the
tokenizer (no special tokens) and, token by token, compute the mask, check the token is in it,
then commit it. A valid instance must be accepted to the end; an invalid one must be rejected at
some token or be incomplete at the end. Engines are adapters with `compile(schema)` returning an
object whose `matcher()` has `mask() -> bool array`, `advance(id) -> bool`, `accepting()`.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
MASKBENCH = DATA / "maskbench"
BFCL = DATA / "bfcl"

DEFAULT_SEPARATORS = (", ", ": ")
COMPACT_SEPARATORS = (",", ":")


@dataclass
class Case:
    name: str
    schema: Any
    tests: list[dict]


def load_cases(limit: int | None = None, every: int = 1) -> list[Case]:
    """The MaskBench files, sorted by name (every `every`-th, at most `limit`)."""
    files = sorted(MASKBENCH.glob("*.json"))[::every][:limit]
    cases = []
    for f in files:
        d = json.loads(f.read_text())
        cases.append(Case(f.stem, d["schema"], d["tests"]))
    return cases


def seconds() -> array:
    """A timing series kept as raw doubles: a list would hold one float object per sample, and
    every full garbage collection during the run walks the list (70k samples an engine), a
    pause charged to whichever engine call it lands in."""
    return array("d")


@dataclass
class Report:
    engine: str
    schemas: int = 0
    compiled: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    crashed: list[str] = field(default_factory=list)
    valid_rejected: list[str] = field(default_factory=list)
    invalid_accepted: list[str] = field(default_factory=list)
    instances: int = 0
    compile_s: array = field(default_factory=seconds)
    mask_s: array = field(default_factory=seconds)
    mask_gc: array = field(default_factory=lambda: array("b"))
    """Per mask call: a full garbage collection of the interpreter ran inside it."""
    gc_pauses: array = field(default_factory=seconds)

    def summary(self) -> dict:
        def pct(xs: array, q: float) -> float:
            return float(np.percentile(xs, q)) if xs else float("nan")

        return {
            "engine": self.engine,
            "schemas": self.schemas,
            "compiled": self.compiled,
            "crashed": len(self.crashed),
            "instances": self.instances,
            "valid_rejected": len(self.valid_rejected),
            "invalid_accepted": len(self.invalid_accepted),
            "compile_ms_median": pct(self.compile_s, 50) * 1e3,
            "compile_ms_p99": pct(self.compile_s, 99) * 1e3,
            "mask_us_mean": statistics.fmean(self.mask_s) * 1e6 if self.mask_s else float("nan"),
            "mask_us_median": pct(self.mask_s, 50) * 1e6,
            "mask_us_p99": pct(self.mask_s, 99) * 1e6,
            "mask_ms_max": max(self.mask_s, default=float("nan")) * 1e3,
            "full_gcs": len(self.gc_pauses),
            "full_gc_ms_max": max(self.gc_pauses, default=0.0) * 1e3,
            "mask_calls_with_full_gc": sum(self.mask_gc),
            "mask_ms_max_without_full_gc": max((t for t, g in zip(self.mask_s, self.mask_gc) if not g),
                                               default=float("nan")) * 1e3,
            "tokens": len(self.mask_s),
        }


class FullCollections:
    """Counts and times Python's full (generation 2) garbage collections while installed, so a
    timing can tell whether one ran inside it: a pause of the interpreter over the whole heap
    (400k objects here, most from transformers and torch), not work of the engine timed."""

    def __init__(self) -> None:
        self.count = 0
        self.pauses = seconds()
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.count += 1
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self)


def run_instance(
    matcher: Any, ids: Iterable[int], times: array, collections: FullCollections | None = None,
    interrupted: array | None = None,
) -> bool:
    """True if every token is in its mask and the matcher accepts at the end. With
    `collections`, `interrupted` gets, per mask call, whether a full collection ran inside it."""
    for tid in ids:
        before = collections.count if collections else 0
        t0 = time.perf_counter()
        mask = matcher.mask()
        times.append(time.perf_counter() - t0)
        if interrupted is not None and collections is not None:
            interrupted.append(collections.count != before)
        if not mask[tid]:
            return False
        if not matcher.advance(tid):
            raise AssertionError(f"token {tid} was in the mask but advance() refused it")
    return matcher.accepting()


def run(
    engine_name: str,
    compile_schema: Callable[[Any], Any],
    encode: Callable[[str], list[int]],
    cases: list[Case],
    separators: tuple[str, str] = DEFAULT_SEPARATORS,
    refusal_key: Callable[[Exception], str | None] = lambda e: type(e).__name__,
) -> Report:
    """Run the protocol; `refusal_key` names an expected refusal, or returns None for a crash."""
    report = Report(engine_name)
    with FullCollections() as collections:
        for case in cases:
            _run_case(case, report, compile_schema, encode, separators, refusal_key, collections)
    report.gc_pauses = collections.pauses
    return report


def _run_case(case: Case, report: Report, compile_schema, encode, separators, refusal_key, collections) -> None:
    report.schemas += 1
    t0 = time.perf_counter()
    try:
        grammar = compile_schema(case.schema)
    except Exception as e:  # an engine's refusal or crash, told apart by refusal_key
        key = refusal_key(e)
        if key is None:
            report.crashed.append(f"{case.name}: {type(e).__name__}: {e}")
        else:
            report.refused[key] = report.refused.get(key, 0) + 1
        return
    report.compile_s.append(time.perf_counter() - t0)
    report.compiled += 1
    for i, test in enumerate(case.tests):
        text = json.dumps(test["data"], ensure_ascii=False, separators=separators)
        report.instances += 1
        try:
            accepted = run_instance(grammar.matcher(), encode(text), report.mask_s, collections, report.mask_gc)
        except Exception as e:  # a crash while matching is a finding, not a refusal
            report.crashed.append(f"{case.name}#{i}: {type(e).__name__}: {e}")
            continue
        if test["valid"] and not accepted:
            report.valid_rejected.append(f"{case.name}#{i}")
        if not test["valid"] and accepted:
            report.invalid_accepted.append(f"{case.name}#{i}")


def profiling_start(doc: str, every: int) -> tuple[list[Case], Any, Callable[[str], list[int]]]:
    """What the profiling scripts (`mask_costs.py`, `gc_pauses.py`) start with: `--every` parsed
    (default `every`), the cases, the Tekken tokenizer and its encoder, this engine's vocabulary
    built, and the start-up heap then frozen out of the collector's view, as `masks.py` does."""
    import argparse

    from a3agent.grammars import compile_json_schema

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=every, help="take every n-th schema")
    args = parser.parse_args()
    tokenizer = tekken_tokenizer()
    cases = load_cases(every=args.every)
    compile_json_schema({"type": "object"}, tokenizer)  # the vocabulary, before the freeze
    gc.collect()
    gc.freeze()
    return cases, tokenizer, hf_encoder(tokenizer)


def feed_with_a3agent(
    cases: list[Case], tokenizer: Any, encode: Callable[[str], list[int]], times: array | None = None
) -> None:
    """Compile each schema with this engine (refusals skipped: they are `masks.py`'s business) and
    feed every instance token by token, mask then advance, while it stays legal: the load the
    profiling scripts (`mask_costs.py`, `gc_pauses.py`, `paired_masks.py`) measure around. With
    `times`, each mask call's seconds are appended to it."""
    from a3agent.errors import GrammarError
    from a3agent.grammars import compile_json_schema

    for case in cases:
        try:
            grammar = compile_json_schema(case.schema, tokenizer)
        except GrammarError:
            continue
        for test in case.tests:
            text = json.dumps(test["data"], ensure_ascii=False, separators=DEFAULT_SEPARATORS)
            run_instance(grammar.matcher(), encode(text), times if times is not None else seconds())


def tekken_tokenizer():
    """The real Tekken vocabulary shipped in mistral-common, as an HF tokenizer."""
    import mistral_common
    from transformers.integrations.mistral import convert_tekken_tokenizer

    return convert_tekken_tokenizer(str(Path(mistral_common.__file__).parent / "data" / "tekken_240718.json"))


def sentencepiece_tokenizer():
    """mistral-common's 32k SentencePiece vocabulary (byte fallback)."""
    import mistral_common
    import sentencepiece

    path = Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1"
    return sentencepiece.SentencePieceProcessor(model_file=str(path))


def hf_encoder(tokenizer: Any) -> Callable[[str], list[int]]:
    """Instance text as ordinary tokens: a string value spelling `</s>` is data, not the special token
    (which no grammar admits inside a string, so the valid instance would read as rejected)."""
    return lambda text: tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)


def sentencepiece_encoder(sp: Any) -> Callable[[str], list[int]]:
    """SentencePiece encoding without the dummy-prefix space it adds before the first piece."""
    from a3agent.grammars.engine.vocab import vocabulary_for

    vocab = vocabulary_for(sp)

    def encode(text: str) -> list[int]:
        ids = sp.encode(text)
        first = vocab.token_bytes[ids[0]] if ids else None
        if first and first.startswith(b" ") and not text.startswith(" "):
            ids = (vocab.encode_bytes(first[1:]) if len(first) > 1 else []) + ids[1:]
        return ids

    return encode


_TEKKEN = None


def tekken_tokenizer_cached():
    """`tekken_tokenizer()` built once per process (conversion takes seconds)."""
    global _TEKKEN
    if _TEKKEN is None:
        _TEKKEN = tekken_tokenizer()
    return _TEKKEN
