"""Long differential fuzz run of the schema compiler on synthesized schemas (see tests/random_schemas.py).

    python benchmarks/random_schema_fuzz.py --minutes 10 [--seed 0] [--batch 100]

Runs batches of hypothesis examples (a random schema and a few instances aimed at it), batch i
with seed `--seed + i`, until the time is up. Prints the counts of each kind of agreement and,
at the end, every finding, deduplicated and shrunk to a small repro: an invalid instance
accepted, a valid one rejected without an excuse the contract allows, mask and advance that
disagree, an exception from compile/mask/advance that is not a `GrammarError` (the compiler must
compile or refuse with one), a run past `schema_fuzz.COMPILE_SECONDS` or a compile slower than
`random_schemas.SLOW_COMPILE_SECONDS`. Exits 1 on findings.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
import random_schemas  # noqa: E402
import schema_fuzz  # noqa: E402


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--minutes", type=float, default=5.0)
    args.add_argument("--seed", type=int, default=0, help="seed of the first batch (batch i: seed + i)")
    args.add_argument("--batch", type=int, default=100, help="schemas per hypothesis run")
    args.add_argument("--instances", type=int, default=5, help="most instances per schema")
    args.add_argument("--shrink-seconds", type=float, default=30.0, help="time to shrink each finding")
    opts = args.parse_args()
    engine = schema_fuzz.Engine()
    findings: dict[str, random_schemas.Finding] = {}
    totals: Counter[str] = Counter()

    def run(case: tuple) -> None:
        schema, instances = case
        faulthandler.dump_traceback_later(120)  # a case stuck past this prints where it is
        totals["schemas"] += 1
        totals["instances"] += len(instances)
        for finding in random_schemas.run_case(engine, schema, instances):
            findings.setdefault(str(finding), finding)

    start = time.monotonic()
    end = start + opts.minutes * 60
    i = 0
    while time.monotonic() < end:
        batch = settings(max_examples=opts.batch, deadline=None, database=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck))(given(random_schemas.cases(opts.instances))(run))
        try:
            seed(opts.seed + i)(batch)()
        except Exception:  # noqa: BLE001 - a fault of the generator itself: report it, go on
            totals["generator errors"] += 1
            print(f"generator error in batch seed {opts.seed + i}:\n{traceback.format_exc()}", flush=True)
        faulthandler.cancel_dump_traceback_later()
        i += 1
        if len(engine.grammars) > 500:
            engine.grammars.clear()
        print(f"{time.monotonic() - start:6.0f} s  batch seed {opts.seed + i - 1}  {dict(totals)}  "
              f"findings: {len(findings)}  {dict(engine.counts)}", flush=True)

    print(f"\n{totals['schemas']} schemas, {totals['instances']} instances in {time.monotonic() - start:.0f} s "
          f"(seeds {opts.seed}..{opts.seed + i - 1}); {len(findings)} distinct findings")
    print("smallest schema refused, by reason:")
    for reason, (schema, message) in sorted(random_schemas.REFUSALS.items()):
        print(f"  {reason} ({engine.counts[reason]}): {json.dumps(schema, ensure_ascii=False)[:300]}\n      {message[:200]}")
    shrunk: dict[str, tuple[random_schemas.Finding, int]] = {}
    for finding in findings.values():
        small = random_schemas.minimise(engine, finding, opts.shrink_seconds)
        key = str(small)
        shrunk[key] = (small, shrunk.get(key, (small, 0))[1] + 1)
    by_kind = Counter(f.kind for f, _ in shrunk.values())
    print(f"after shrinking: {len(shrunk)} distinct repros {dict(by_kind)}")
    for small, count in sorted(shrunk.values(), key=lambda x: (x[0].kind, len(str(x[0])))):
        print(f"\n({count} finding{'s' if count > 1 else ''}) {small}")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
