"""The stats line printed after each model turn, from the decode loop's counters.

It answers the two questions a person tuning a setup asks: did prefix reuse work (reused vs prompt),
and what does the constraint cost (forced tokens, mask time per token)?
"""

from __future__ import annotations

from a3agent.model.decode import DecodeCounters

__all__ = ["stats_line"]


def stats_line(counters: DecodeCounters) -> str:
    """Example: `prompt 812 · reused 640 · generated 57 · forced 12 · 23.4 tok/s · mask 0.81 ms/tok`."""
    seconds = counters.prefill_s + counters.decode_s + counters.mask_s
    rate = counters.generated / seconds if seconds > 0 else 0.0
    mask_ms = 1000 * counters.mask_s / counters.generated if counters.generated else 0.0
    return (f"prompt {counters.prompt} · reused {counters.reused} · generated {counters.generated} · "
            f"forced {counters.forced} · {rate:.1f} tok/s · mask {mask_ms:.2f} ms/tok")
