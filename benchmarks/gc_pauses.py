"""Python's full garbage collections while this engine runs MaskBench, and what they walk.

    python benchmarks/gc_pauses.py              # every 2nd shared file
    python benchmarks/gc_pauses.py --every 1

Compiles each schema and feeds its instances token by token (mask, then advance) with the start-up
heap frozen, as `masks.py` does, and prints: how many full (generation 2) collections ran, the
objects tracked in the oldest generation when each started (what it walks besides the young ones),
their pauses (median, mean, max, total), and, after a last collection at the end, the tracked
objects by type. A pause is the interpreter stopped over every tracked object: whichever call it
lands in (a mask, a compile) takes that much longer.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maskbench  # noqa: E402

from a3agent.errors import GrammarError  # noqa: E402
from a3agent.grammars import compile_json_schema  # noqa: E402


class _Pauses:
    """A `gc.callbacks` entry recording each full collection's pause and oldest generation."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self.old_objects: list[int] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self.old_objects.append(len(gc.get_objects(2)))  # counted before the clock starts
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=2, help="take every n-th schema")
    args = parser.parse_args()
    tokenizer = maskbench.tekken_tokenizer()
    encode = maskbench.hf_encoder(tokenizer)
    cases = maskbench.load_cases(every=args.every)
    compile_json_schema({"type": "object"}, tokenizer)  # the vocabulary, before the freeze
    gc.collect()
    gc.freeze()
    pauses = _Pauses()
    gc.callbacks.append(pauses)
    started = time.perf_counter()
    for case in cases:
        try:
            grammar = compile_json_schema(case.schema, tokenizer)
        except GrammarError:
            continue
        for test in case.tests:
            matcher = grammar.matcher()
            for tid in encode(json.dumps(test["data"], separators=maskbench.DEFAULT_SEPARATORS)):
                if not matcher.mask()[tid] or not matcher.advance(tid):
                    break
    gc.callbacks.remove(pauses)
    seconds = time.perf_counter() - started
    ms = np.array(pauses.pauses) * 1e3
    print(f"{len(cases)} schemas in {seconds:.1f} s; full collections {len(ms)}")
    if len(ms):
        print(f"  oldest generation at their start: mean {np.mean(pauses.old_objects):,.0f}, "
              f"max {max(pauses.old_objects):,} objects")
        print(f"  pause ms median {np.median(ms):.1f} mean {ms.mean():.1f} max {ms.max():.1f} total {ms.sum():.0f}")
    gc.collect()
    tracked = gc.get_objects()
    top = Counter(type(o).__qualname__ for o in tracked).most_common(8)
    print(f"  tracked at the end: {len(tracked):,} objects; " + ", ".join(f"{name} {n:,}" for name, n in top))


if __name__ == "__main__":
    main()
