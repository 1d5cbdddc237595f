"""How long the `a3agent` command takes to answer when it loads no model: median and p99 over runs.

    python benchmarks/startup.py              # 40 runs of each command
    python benchmarks/startup.py --runs 100

Each command runs as a fresh process, the way a person or a script meets it: `--help`, usage errors
the parser finds (`--temperature -1`, `--dialect foo`), and usage errors the command finds before any
tool or model loads (`--min-think 100 --max-think 10`, a `--tool-choice` that names no built-in tool,
an unknown `--model scripted:NAME`). `python -c pass` is the interpreter's own start, the floor under
every figure. It also lists, with `python -X importtime`, the heavy modules each command imports
(none expected) and prints the load average before and after, since other jobs may share the machine.
A benchmark, not a test: these machines are noisy, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_SCRIPT = Path(sys.executable).with_name("a3agent")  # the console script of this interpreter's install
CLI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-c", "from a3agent.cli.app import main; main()"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "a3agent --help": [*CLI, "--help"],
    "a3agent run hi --temperature -1": [*CLI, "run", "hi", "--temperature", "-1"],
    "a3agent run hi --dialect foo": [*CLI, "run", "hi", "--dialect", "foo"],
    "a3agent run hi --min-think 100 --max-think 10": [*CLI, "run", "hi", "--min-think", "100", "--max-think", "10"],
    "a3agent run hi --tool-choice nosuchtool": [*CLI, "run", "hi", "--tool-choice", "nosuchtool"],
    "a3agent run hi --model scripted:nosuch": [*CLI, "run", "hi", "--model", "scripted:nosuch"],
}
HEAVY = ("torch", "transformers", "artemis_vlm", "pydantic", "numpy", "PIL")


def seconds(command: list[str]) -> float:
    """Wall time of one run of `command`; it must exit (0 for help, 2 for a usage error)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def heavy_imports(arguments: list[str]) -> list[str]:
    """The heavy modules `a3agent ARGUMENTS` imports (none expected)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "from a3agent.cli.app import main; main()",
                           *arguments], capture_output=True, text=True, timeout=120)
    names = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return sorted({name.split(".")[0] for name in names if name.split(".")[0] in HEAVY})


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="runs of each command")
    args = parser.parse_args()
    print(f"load average (1, 5, 15 min) before: {load()} on {os.cpu_count()} cores")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):  # interleaved, so a burst of load on the machine hits every command alike
        for name, command in COMMANDS.items():
            times[name].append(seconds(command))
    print(f"load average after: {load()}")
    print(f"{f'{args.runs} runs each, in ms':<48} {'median':>7} {'p99':>8} {'max':>8}   heavy imports")
    for name, values in times.items():
        command = COMMANDS[name]
        heavy = heavy_imports(command[len(CLI):]) if command[: len(CLI)] == CLI else []
        print(f"{name:<48} {1000 * statistics.median(values):7.0f} {1000 * np.percentile(values, 99):8.0f} "
              f"{1000 * max(values):8.0f}   {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
