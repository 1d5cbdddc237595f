"""Full MaskBench conformance of the schema compiler (run by hand; slow: Earley oracle).

    python tests/maskbench_conformance.py [--jobs 2] [--limit N] [--show-failures]

Prints: schemas compiled, valid instances rejected, invalid instances accepted (both
serialisations), valid instances rejected only for key order, and refusals by keyword.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schema_oracle import MASKBENCH, FileResult, check_file  # noqa: E402


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--jobs", type=int, default=2)
    args.add_argument("--limit", type=int, default=0)
    args.add_argument("--match", default="")
    args.add_argument("--show-failures", action="store_true")
    args.add_argument("--timeout", type=int, default=120, help="seconds per file")
    opts = args.parse_args()
    files = sorted(p for p in MASKBENCH.glob("*.json") if opts.match in p.name)
    if opts.limit:
        files = files[:opts.limit]
    start = time.time()
    with multiprocessing.Pool(opts.jobs) as pool:
        results: list[FileResult] = []
        for result, seconds in pool.imap_unordered(_timed, [(f, opts.timeout) for f in files]):
            results.append(result)
            if seconds > 10:
                print(f"slow: {result.name} {seconds:.0f} s", flush=True)
    report(sorted(results, key=lambda r: r.name), time.time() - start, opts.show_failures)


def _timed(job: tuple[Path, int]) -> tuple[FileResult, float]:
    path, limit = job
    start = time.time()

    def expire(*_: object) -> None:
        raise TimeoutError(f"over {limit} s")

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    try:
        result = check_file(path)
    except TimeoutError:
        result = FileResult(path.name, refusal=("(timeout)", f"over {limit} s"))
    except Exception as e:  # a crash is a finding, not the end of the run
        result = FileResult(path.name, refusal=("(crash)", f"{type(e).__name__}: {e}"))
    finally:
        signal.alarm(0)
    return result, time.time() - start


def report(results: list[FileResult], seconds: float, show: bool) -> None:
    compiled = [r for r in results if r.compiled]
    refusals = collections.Counter(r.refusal[0] for r in results if r.refusal)
    print(f"files: {len(results)}  compiled: {len(compiled)}  ({seconds:.0f} s)")
    print(f"instances checked in compiled schemas: {sum(r.tests for r in compiled)}")
    print(f"valid rejected: {sum(len(r.valid_rejected) for r in results)}")
    print(f"invalid accepted: {sum(len(r.invalid_accepted) for r in results)}")
    print(f"valid rejected for key order only: {sum(len(r.key_order) for r in results)} "
          f"in {sorted(r.name for r in results if r.key_order)}")
    print("refusals by keyword:", dict(refusals.most_common()))
    by_category = collections.Counter((r.name.split("---")[0].split("_")[0], r.compiled) for r in results)
    print("by source (compiled, refused):", {k: (by_category[(k, True)], by_category[(k, False)])
                                            for k in sorted({c for c, _ in by_category})})
    if show:
        for r in results:
            for line in r.valid_rejected:
                print("VALID REJECTED", r.name, line)
            for line in r.invalid_accepted:
                print("INVALID ACCEPTED", r.name, line)
        for r in results:
            if r.refusal:
                print("REFUSED", r.name, r.refusal[1][:200])


if __name__ == "__main__":
    main()
