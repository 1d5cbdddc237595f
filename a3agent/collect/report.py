"""`a3agent report`: the metrics of an output folder as a table, one column per model and mode, the
constrained and unconstrained columns of a model side by side; as a rich table, Markdown or JSON.

The metrics are defined in `metrics.py`. Rates read `12.5 % (1/8)`, so a rate over three steps is not
taken for one over three thousand.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.table import Table

from a3agent.collect.metrics import RATES, GroupMetrics

__all__ = ["LABELS", "json_report", "markdown_table", "report_rows", "rich_table"]

LABELS = {
    "episodes": "episodes",
    "errors": "episodes ended by an error",
    "empty_think": "empty-think rate",
    "valid_calls": "valid-call rate",
    "drafted_url": "drafted-URL rate",
    "tool_errors": "tool error rate",
    "checks_passed": "checks passed",
    "steps_per_task": "steps per task",
    "tokens_per_task": "tokens per task",
    "forced_share": "forced share",
}
"""Metric -> its row label, in table order."""


def _rate(group: GroupMetrics, name: str) -> str:
    count, total = group.rate(name)
    return "n/a" if not total else f"{100 * count / total:.1f} % ({count}/{total})"


def _mean(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _rate_cell(name: str) -> Callable[[GroupMetrics], str]:
    return lambda group: _rate(group, name)


_CELLS: dict[str, Callable[[GroupMetrics], str]] = {
    "episodes": lambda g: str(g.episodes),
    "errors": lambda g: str(g.errors),
    "steps_per_task": lambda g: _mean(g.steps_per_task),
    "tokens_per_task": lambda g: _mean(g.tokens_per_task),
    **{name: _rate_cell(name) for name in RATES},
}


def report_rows(groups: list[GroupMetrics]) -> tuple[list[str], list[list[str]]]:
    """The header (metric, then `model · mode` per group) and one row of cells per metric."""
    header = ["metric", *(f"{g.model} · {g.mode}" for g in groups)]
    return header, [[label, *(_CELLS[name](g) for g in groups)] for name, label in LABELS.items()]


def rich_table(groups: list[GroupMetrics]) -> Table:
    """The report for the terminal."""
    header, rows = report_rows(groups)
    table = Table(title="a3agent report", title_justify="left")
    for index, name in enumerate(header):
        table.add_column(name, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_table(groups: list[GroupMetrics]) -> str:
    """The report as a Markdown table."""
    header, rows = report_rows(groups)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"


def json_report(groups: list[GroupMetrics]) -> str:
    """The report as JSON: per group its counts, and each rate as a fraction (null: nothing to count)."""
    return json.dumps([{
        "model": g.model, "mode": g.mode, "episodes": g.episodes, "errors": g.errors,
        "rates": {name: {"value": g.value(name), "count": g.rate(name)[0], "total": g.rate(name)[1]} for name in RATES},
        "steps_per_task": g.steps_per_task, "tokens_per_task": g.tokens_per_task,
    } for g in groups], indent=2)  # fmt: skip
