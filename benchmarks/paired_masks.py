"""Mask time of this checkout beside another commit's, the two run at the same time, one per core.

    python benchmarks/paired_masks.py 08e8f43              # every 2nd shared file, 3 pairs
    python benchmarks/paired_masks.py HEAD~2 --every 4 --pairs 5

On the 2-core development machine the same code measured twice in a row differs by 20-40 %, as
the machine's speed drifts; two processes running side by side meet the same drift, so the ratio of
their means holds steady where the means do not. Each side compiles every n-th shared MaskBench
schema and feeds its instances token by token (`maskbench.profiling_start`'s start-up, the MaskBench
protocol), in a fresh process; the harness is this checkout's, the engine each side's own (the
other commit is checked out in a temporary git worktree). Prints per pair both sides' mean and
99th-percentile mask times and their ratios, then the median ratios. Sides alternate which one
starts first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def child(every: int) -> None:
    """Feed the sample with whichever `a3agent` is first on the path; print the mean mask time as JSON."""
    sys.argv = sys.argv[:1]
    sys.path.insert(0, str(HERE))
    import maskbench

    cases, tokenizer, encode = maskbench.profiling_start(__doc__ or "", every=every)
    times = maskbench.seconds()
    maskbench.feed_with_a3agent(cases, tokenizer, encode, times)
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(json.dumps({"masks": len(times), "mean_us": sum(times) / len(times) * 1e6, "p99_us": p99 * 1e6}))


def run_pair(other: Path, every: int, other_first: bool) -> tuple[dict, dict]:
    """Start both sides at once; (this checkout's means, the other commit's)."""
    command = [sys.executable, __file__, "--child", "--every", str(every)]
    env_this = {**os.environ, "PYTHONPATH": str(ROOT)}
    env_other = {**os.environ, "PYTHONPATH": str(other)}
    order = [("other", env_other), ("this", env_this)] if other_first else [("this", env_this), ("other", env_other)]
    procs = {name: subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for name, env in order}
    out = {}
    for name, proc in procs.items():
        stdout, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"the {name} side failed (exit {proc.returncode})")
        out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out["this"], out["other"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", nargs="?", help="the commit to compare this checkout with")
    parser.add_argument("--every", type=int, default=2, help="take every n-th shared schema")
    parser.add_argument("--pairs", type=int, default=3, help="pairs of runs")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.every)
        return
    if not args.commit:
        parser.error("name the commit to compare with")
    with tempfile.TemporaryDirectory() as scratch:
        other = Path(scratch) / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), args.commit],
                       check=True, capture_output=True)
        try:
            ratios, tails = [], []
            for i in range(args.pairs):
                this, that = run_pair(other, args.every, other_first=bool(i % 2))
                ratios.append(this["mean_us"] / that["mean_us"])
                tails.append(this["p99_us"] / that["p99_us"])
                print(f"pair {i + 1}: this checkout mean {this['mean_us']:.1f} us, p99 {this['p99_us']:.0f} us over "
                      f"{this['masks']} masks; {args.commit} mean {that['mean_us']:.1f} us, p99 {that['p99_us']:.0f} us "
                      f"over {that['masks']}; ratios {ratios[-1]:.3f}, p99 {tails[-1]:.3f}", flush=True)
            print(f"median ratio (this / {args.commit}): mean {statistics.median(ratios):.3f}, "
                  f"p99 {statistics.median(tails):.3f}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)


if __name__ == "__main__":
    main()
