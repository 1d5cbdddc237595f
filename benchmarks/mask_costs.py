"""Where first-visit mask time goes, on MaskBench (this engine only; CPU time, so other jobs on the
machine matter less than for wall-clock figures).

    python benchmarks/mask_costs.py              # every 10th shared file
    python benchmarks/mask_costs.py --every 1

Feeds each valid instance token by token as `masks.py` does and prints: the share of mask calls
that are a configuration's first visit, the CPU time per first visit, and how that time divides
between token tables (`token_table`, looked up or built), split tokens followed past a terminal
end (`Grammar._split_tokens`, suffix tables included), the mask arrays assembled (a mask already
kept for another configuration made of the same tables is not) and the rest (lookups).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maskbench

from a3agent.grammars.engine import grammar as grammar_module

SPENT: Counter[str] = Counter()
CALLS: Counter[str] = Counter()


def _timed(owner: object, name: str, label: str) -> None:
    """Wrap `owner.name` so its calls and CPU time add up under `label`."""
    inner = getattr(owner, name)

    def timed(*args: object) -> object:
        start = time.process_time()
        try:
            return inner(*args)
        finally:
            SPENT[label] += time.process_time() - start
            CALLS[label] += 1

    setattr(owner, name, timed)


def main() -> None:
    cases, tokenizer, encode = maskbench.profiling_start(__doc__, every=10)
    _timed(grammar_module, "token_table", "tables")
    _timed(grammar_module.Grammar, "_split_tokens", "splits")
    _timed(grammar_module.Grammar, "_assemble", "mask arrays")
    _timed(grammar_module.Grammar, "_parts", "parts")
    inner = grammar_module.Grammar.mask

    def mask(grammar: grammar_module.Grammar, config: grammar_module.Config) -> object:
        """`mask`, its CPU time counted under "first visits" when it had to find the mask's parts."""
        start, visits = time.process_time(), CALLS["parts"]
        try:
            return inner(grammar, config)
        finally:
            label = "first visits" if CALLS["parts"] > visits else "revisits"
            SPENT[label] += time.process_time() - start
            CALLS[label] += 1

    grammar_module.Grammar.mask = mask  # type: ignore[method-assign]
    maskbench.feed_with_a3agent(cases, tokenizer, encode)
    first, visits = SPENT["first visits"], CALLS["first visits"]
    calls = visits + CALLS["revisits"]
    print(f"mask calls {calls}, CPU mean {(first + SPENT['revisits']) / calls * 1e6:.0f} us; first visits "
          f"{visits} ({visits / calls:.0%}), {first / visits * 1e6:.0f} us each; "
          f"{CALLS['mask arrays']} masks assembled, the rest already kept for another configuration")
    rest = first - SPENT["tables"] - SPENT["splits"] - SPENT["mask arrays"]
    for label, spent in (("token tables", SPENT["tables"]), ("split tokens", SPENT["splits"]),
                         ("mask arrays", SPENT["mask arrays"]), ("the rest", rest)):
        print(f"  {label:20s} {spent / first:.0%} of first-visit time")


if __name__ == "__main__":
    main()
