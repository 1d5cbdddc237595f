"""How long a turn grammar takes to compile as the tool set grows: median and p99 per size.

    python benchmarks/turn_compile.py                 # 10, 40, 160 and 370 tools, 7 compiles each
    python benchmarks/turn_compile.py --sizes 370 --runs 15

The tools are the distinct BFCL simple_python functions (370 of them), the first N. Each size runs
in a fresh process: its first compile meets empty cross-grammar caches (regex automata, token
tables), the way an application's first `Agent(...)` does; the grammar cache is emptied before each
later compile, so those show what a new tool set costs in a warm process. A compile past the
`compile_seconds` limit is printed as refused. These machines are noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def tools(n: int) -> list[dict]:
    """The first `n` distinct BFCL functions as turn-grammar tools."""
    sys.path.insert(0, str(HERE))
    from bfcl import load_cases

    distinct: dict[str, dict] = {}
    for case in load_cases():
        for f in case.functions:
            distinct.setdefault(f["name"], f)
    return [{"name": f["name"], "description": f.get("description", ""), "parameters": f["parameters"]}
            for f in list(distinct.values())[:n]]


def measure(n: int, runs: int) -> dict:
    """Compile a turn grammar over `n` tools `runs` times in this process."""
    from a3agent.errors import GrammarTooComplex
    from a3agent.grammars import compile as compiling
    from a3agent.model.tokenizer import offline_tokenizer

    tokenizer = offline_tokenizer()
    compiling.compile_turn(tools(1), tokenizer)  # the vocabulary and lark's meta parser, once a process
    chosen = tools(n)
    seconds, refused = [], 0
    for _ in range(runs):
        compiling._CACHE.clear()
        start = time.perf_counter()
        try:
            compiling.compile_turn(chosen, tokenizer)
        except GrammarTooComplex:
            refused += 1
        seconds.append(time.perf_counter() - start)
    return {"tools": len(chosen), "first": seconds[0], "later": seconds[1:], "refused": refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 40, 160, 370])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process's size
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.runs)))
        return
    print(f"{'tools':>6} {'first s':>8} {'median s':>9} {'p99 s':>7} {'refused':>8}")
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--runs", str(args.runs)],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        later = np.array(result["later"] or [result["first"]])
        print(f"{result['tools']:>6} {result['first']:>8.3f} {np.median(later):>9.3f} "
              f"{np.percentile(later, 99):>7.3f} {result['refused']:>5}/{args.runs}")


if __name__ == "__main__":
    main()
