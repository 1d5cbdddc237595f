"""Long differential fuzz run of the schema compiler against jsonschema (see tests/schema_fuzz.py).

    python benchmarks/schema_fuzz.py --minutes 10 [--every 1]

Runs batches of hypothesis examples with fresh seeds over the MaskBench files until the time is
up; prints the counts of each kind of agreement, and every disagreement with its schema and
instance (a disagreement does not stop the run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
import schema_fuzz  # noqa: E402


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--minutes", type=float, default=5.0)
    args.add_argument("--every", type=int, default=1, help="use every N-th MaskBench file")
    args.add_argument("--batch", type=int, default=200, help="examples per hypothesis run")
    opts = args.parse_args()
    cases = schema_fuzz.load_cases(every=opts.every)
    engine = schema_fuzz.Engine()
    failures: list[str] = []

    @settings(max_examples=opts.batch, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(schema_fuzz.examples(cases))
    def batch(example: tuple) -> None:
        name, schema, data = example
        try:
            engine.check(schema, data)
        except (AssertionError, schema_fuzz.suite.TooSlow) as e:
            engine.counts["disagreement" if isinstance(e, AssertionError) else "too slow (engine)"] += 1
            failures.append(f"{name}: {e}")

    end = time.monotonic() + opts.minutes * 60
    while time.monotonic() < end:
        batch()
        print(f"{sum(engine.counts.values())} examples: {dict(engine.counts)}", flush=True)
    for failure in dict.fromkeys(failures):
        print("\n" + failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
