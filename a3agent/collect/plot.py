"""`a3agent report --plot FILE.png`: the report as a picture, for when a glance beats a table.

Left, each rate per model and mode as grouped bars (constrained and unconstrained next to each other);
right, the distribution of generated tokens per episode for each group. Needs matplotlib (the `plot`
extra: `pip install 'a3agent[plot]'`); this module imports it, so import it only after checking
`plotting_available()`.
"""

from __future__ import annotations

import importlib.util
import os

from a3agent.collect.metrics import RATES, GroupMetrics
from a3agent.collect.report import LABELS

__all__ = ["plot_report", "plotting_available"]


def plotting_available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def plot_report(groups: list[GroupMetrics], path: str | os.PathLike[str]) -> None:
    """Draw the rates and the tokens-per-episode distributions into a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rates, tokens) = plt.subplots(1, 2, figsize=(13, 4.8), width_ratios=(3, 2))
    width = 0.8 / max(1, len(groups))
    for index, group in enumerate(groups):
        values = [100 * (group.value(name) or 0.0) for name in RATES]
        rates.bar([k + index * width for k in range(len(RATES))], values, width, label=f"{group.model} · {group.mode}")
        tokens.hist([generated for _, generated in group.per_episode], bins=20, alpha=0.6,
                    label=f"{group.model} · {group.mode}")
    rates.set_xticks([k + width * (len(groups) - 1) / 2 for k in range(len(RATES))],
                     [LABELS[name] for name in RATES], rotation=20, ha="right")
    rates.set_ylabel("%")
    rates.set_ylim(0, 100)
    rates.legend(fontsize="small")
    tokens.set_xlabel("generated tokens per episode")
    tokens.set_ylabel("episodes")
    tokens.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
