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

import gc
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maskbench  # noqa: E402


class _Pauses(maskbench.FullCollections):
    """`FullCollections` that also counts the oldest generation as each full collection starts."""

    def __init__(self) -> None:
        super().__init__()
        self.old_objects: list[int] = []

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] == 2 and phase == "start":
            self.old_objects.append(len(gc.get_objects(2)))  # counted before the clock starts
        super().__call__(phase, info)


def main() -> None:
    cases, tokenizer, encode = maskbench.profiling_start(__doc__, every=2)
    started = time.perf_counter()
    with _Pauses() as pauses:
        maskbench.feed_with_a3agent(cases, tokenizer, encode)
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
