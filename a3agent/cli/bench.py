"""`a3agent bench`: run the benchmark scripts of a source checkout (`benchmarks/*.py`).

The scripts are not part of the installed package: they need the checkout's shared data and
optional peers (`pip install -e '.[bench]'`). Extra arguments go through to the script.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from a3agent.errors import CommandLineError

__all__ = ["BENCHMARKS", "run_benchmark"]

BENCHMARKS = ("masks", "decode", "agent", "startup")
"""Token masks beside llguidance and xgrammar; the decode loop; an agent episode with prefix reuse;
how fast the command answers when it loads no model."""


def run_benchmark(name: str, arguments: Sequence[str]) -> int:
    """Run `benchmarks/<name>.py` with `arguments`; its exit status."""
    if name not in BENCHMARKS:
        raise CommandLineError(f"unknown benchmark {name!r}: choose one of {', '.join(BENCHMARKS)}")
    script = Path(__file__).resolve().parents[2] / "benchmarks" / f"{name}.py"
    if not script.is_file():
        raise CommandLineError(f"{script} is missing: the benchmarks ship with the source checkout, "
                               "not with the installed package; run this from a clone")
    return subprocess.call([sys.executable, str(script), *arguments])
