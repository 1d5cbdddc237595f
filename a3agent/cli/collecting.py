"""`a3agent collect`, `export` and `report`: the L2 prototyping commands, over `a3agent.collect`.

    a3agent collect TASKS.jsonl --out DIR [--model M] [--samples N] [--unconstrained-too]   run and record
    a3agent collect --make-examples DIR                     write the example tasks and their images
    a3agent export DIR --format artemis|pairs --out FILE    training rows, or preference pairs
    a3agent report DIR [--format table|markdown|json] [--plot FILE.png]

The commands are declared here and registered by `app.py`; this module imports only typer at
load time, the collect room inside each command, so `a3agent --help` stays fast.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from a3agent.cli import options as opt
from a3agent.cli.consoles import err_console, out_console
from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from rich.console import Console

    from a3agent.collect.metrics import GroupMetrics
    from a3agent.collect.tasks import BadLine
    from a3agent.collect.trajectory import Episode, Mode
    from a3agent.model.loading import LoadedModel

__all__ = ["collect_command", "export_command", "report_command"]

class ExportFormat(str, Enum):
    artemis = "artemis"
    pairs = "pairs"


class ReportFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


class CollectBar:
    """The progress bar of a collection: episodes done of those planned, passed, errors, ETA."""

    def __init__(self, console: Console, tasks_file: Path) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console, self.tasks_file = console, tasks_file
        self.passed = self.errors = 0
        self.bar = Progress(TextColumn("collecting"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), console=console)
        self.task = self.bar.add_task("collect", total=None, counts="")

    def planned(self, total: int, skipped: int, bad_lines: list[BadLine]) -> None:
        from rich.markup import escape

        for bad in bad_lines:
            where = f"{escape(str(self.tasks_file))}:{bad.number}"
            self.console.print(f"[yellow]{where}: skipped: {escape(bad.message)}[/yellow]", soft_wrap=True)
        if skipped:
            self.console.print(f"{skipped} episodes already in the folder: skipped (resumed)", soft_wrap=True)
        self.bar.update(self.task, total=total, counts=self._counts())
        self.bar.start()

    def finished(self, episode: Episode) -> None:
        self.passed += episode.checks.passed is True
        self.errors += episode.stop_reason == "error"
        self.bar.update(self.task, advance=1, counts=self._counts())

    def _counts(self) -> str:
        return f"passed {self.passed} · errors {self.errors}"


def collect_command(
    tasks: Annotated[Path | None, typer.Argument(help="The tasks file (JSONL, one task a line).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder: trajectories.jsonl and images/.")] = None,
    model: opt.Model = "tiny",
    tools: opt.Tools = "builtin",
    samples: Annotated[int, typer.Option(min=1, help="Episodes per task and mode, sample k with seed SEED+k.")] = 1,
    unconstrained_too: Annotated[bool, typer.Option(
        "--unconstrained-too", help="Run every task unconstrained as well, to measure the defects side by side.")] = False,
    tool_choice: opt.ToolChoice = "auto",
    dialect: opt.Dialect = "hermes-json",
    no_think: opt.NoThink = False,
    max_steps: Annotated[int, typer.Option(min=1, help="Model turns per episode.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Generated tokens per step.")] = 1024,
    token_budget: Annotated[int, typer.Option(min=1, help="Generated tokens per episode.")] = 8192,
    time_budget: Annotated[float, typer.Option(min=0, help="Seconds per episode; 0 for no limit.")] = 300.0,
    temperature: opt.Temperature = 0.0,
    top_p: opt.TopP = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the first sample.")] = 0,
    make_examples: Annotated[Path | None, typer.Option(
        "--make-examples", help="Write the example tasks and their images into this folder, and stop.")] = None,
    debug: opt.Debug = False,
) -> None:
    """Run every task through the agent and record the trajectories (resumable: rerun to go on)."""
    from a3agent.cli.app import _reported

    with _reported(debug):
        if make_examples is not None:
            return _make_examples(make_examples)
        if tasks is None or out is None:
            raise CommandLineError("collect needs TASKS and --out DIR (or --make-examples DIR)")
        from a3agent.cli.models import open_model
        from a3agent.cli.toolspec import load_toolbox
        from a3agent.collect import CollectOptions, collect_trajectories

        modes: tuple[Mode, ...] = ("constrained", "unconstrained") if unconstrained_too else ("constrained",)
        options = CollectOptions(samples=samples, modes=modes, thinking=not no_think, tool_choice=tool_choice,
                                 dialect=dialect, max_steps=max_steps, max_new_tokens=max_new_tokens,
                                 token_budget=token_budget, time_budget_s=time_budget or None,
                                 temperature=temperature, top_p=top_p, seed=seed)
        toolbox = load_toolbox(tools)
        loaded = open_model(model, err_console(), debug=debug)
        bar = CollectBar(err_console(), tasks)
        try:
            summary = collect_trajectories(tasks, out, loaded, toolbox, options, bar, model_name=model)
        except KeyboardInterrupt:
            err_console().print(f"{int(bar.bar.tasks[0].completed)} episodes were written; run the same command "
                                "again to go on from there", soft_wrap=True)
            raise
        finally:
            bar.bar.stop()
    console = out_console()
    console.print(f"{summary.written} episodes written ({summary.passed} passed their checks, {summary.errors} ended "
                  f"by an error), {summary.skipped} already there, {summary.bad_count} bad task lines skipped", soft_wrap=True)


def _make_examples(folder: Path) -> None:
    from rich.markup import escape

    from a3agent.collect import write_examples

    path = write_examples(folder)
    images = escape(str(folder / "images"))
    out_console().print(f"example tasks written to {escape(str(path))}, their images to {images}", soft_wrap=True)


def export_command(
    folder: Annotated[Path, typer.Argument(help="An output folder of `a3agent collect`.")],
    out: Annotated[Path, typer.Option(help="The JSONL file to write.")],
    format: Annotated[ExportFormat, typer.Option(help="artemis: one training row per step; pairs: preference pairs.")] = ExportFormat.artemis,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Whose chat template, tokenizer and image processor shape and measure the rows "
        "(default: the model of the folder's first episode).")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Drop rows longer than this (the card trains at 4,096).")] = 4096,
    all_episodes: Annotated[bool, typer.Option(
        "--all-episodes", help="Rows from episodes whose checks failed too (finished episodes only).")] = False,
    keep_invalid: Annotated[bool, typer.Option(
        "--keep-invalid", help="Keep steps with invalid calls, drafted requests or unclosed think blocks as targets.")] = False,
    debug: opt.Debug = False,
) -> None:
    """Export trajectories as training rows (artemis-vlm's collator form) or preference pairs (DPO/ORPO)."""
    from rich.markup import escape

    from a3agent.cli.app import _reported

    with _reported(debug):
        loaded = _measuring_model(folder, model, debug)
        if format is ExportFormat.pairs:
            from a3agent.collect import export_pairs

            count = export_pairs(folder, out, loaded.template)
            out_console().print(f"{count} preference pairs written to {escape(str(out))}", soft_wrap=True)
            return
        from a3agent.collect import export_artemis

        summary = export_artemis(folder, out, loaded, max_tokens=max_tokens, passed_only=not all_episodes,
                                 valid_only=not keep_invalid)
    console = out_console()
    console.print(f"{summary.rows} rows written to {escape(str(out))} from {summary.episodes} episodes; dropped: "
                  f"{summary.unfinished} unfinished episodes, {summary.not_passed} episodes that did not pass, "
                  f"{summary.invalid_steps} invalid steps, {summary.too_long} rows over {max_tokens} tokens", soft_wrap=True)
    for row in summary.long_rows:
        console.print(f"  over length: {escape(row.episode)} step {row.step}: {row.tokens} tokens", soft_wrap=True)


def _measuring_model(folder: Path, model: str | None, debug: bool) -> LoadedModel:
    from a3agent.cli.models import open_model
    from a3agent.collect import TrajectoryStore

    if model is None:
        first = next(iter(TrajectoryStore(folder).episodes()), None)
        if first is None:
            raise CommandLineError(f"{folder} holds no episodes yet; run `a3agent collect` into it first")
        model = first.model
    return open_model(model, err_console(), debug=debug)


def report_command(
    folder: Annotated[Path, typer.Argument(help="An output folder of `a3agent collect`.")],
    format: Annotated[ReportFormat, typer.Option(help="table (the terminal), markdown or json.")] = ReportFormat.table,
    plot: Annotated[Path | None, typer.Option(help="Also draw the rates and token distributions into this PNG.")] = None,
    debug: opt.Debug = False,
) -> None:
    """The card's defects and the agent's behaviour per model and mode, constrained next to unconstrained."""
    from a3agent.cli.app import _reported

    with _reported(debug):
        from a3agent.collect import TrajectoryStore, summarize
        from a3agent.collect.report import json_report, markdown_table, rich_table

        groups = summarize(TrajectoryStore(folder).episodes())
        if format is ReportFormat.table:
            out_console().print(rich_table(groups))
        else:
            typer.echo(markdown_table(groups) if format is ReportFormat.markdown else json_report(groups), nl=False)
        if plot is not None:
            _plot(groups, plot)


def _plot(groups: list[GroupMetrics], path: Path) -> None:
    from rich.markup import escape

    from a3agent.collect.plot import plot_report, plotting_available

    if not plotting_available():
        err_console().print("[yellow]no plot: matplotlib is not installed (pip install 'a3agent[plot]')[/yellow]")
        return
    plot_report(groups, path)
    err_console().print(f"plot written to {escape(str(path))}", soft_wrap=True)
