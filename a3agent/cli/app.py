"""The `a3agent` command: a thin typer app over the four rooms.

    a3agent chat [--model PATH | HUB_ID | tiny | scripted:NAME] [--image FILE]...   the REPL
    a3agent run "TASK" [--image FILE]... [--json]                                   one shot
    a3agent demo                                    the drift fixed, and an image-tool episode, offline
    a3agent grammar [--tools ...] [--dialect ...] [--no-think] [--tool-choice ...]  the turn grammar
    a3agent tiny-model DIR                          build the offline tiny checkpoint
    a3agent bench [masks|decode|agent] [ARGS]...    run a benchmark script of the checkout

Heavy imports (torch, transformers) happen inside the commands that need them, so `--help` and
`grammar` start fast. Every failure is one red line on stderr and exit status 1 (`failures.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from a3agent.cli import options as opt
from a3agent.cli.failures import report

__all__ = ["app", "main"]

app = typer.Typer(
    help="Grammar-constrained tool calling and an image-grounded agent loop for A3-Instruct.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def _exit_on_error(debug: bool) -> Iterator[None]:
    """Report a failure as one line on stderr and exit 1 (130 after Ctrl-C)."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/yellow]")
        raise typer.Exit(130) from None
    except Exception as exc:
        report(err_console, exc, debug)
        raise typer.Exit(1) from None


@app.command()
def chat(
    model: opt.Model = "tiny",
    image: opt.Images = None,
    tools: opt.Tools = "builtin",
    dialect: opt.Dialect = "hermes-json",
    no_think: opt.NoThink = False,
    min_think: opt.MinThink = None,
    max_think: opt.MaxThink = None,
    unconstrained: opt.Unconstrained = False,
    system: opt.System = None,
    tool_choice: opt.ToolChoice = "auto",
    device: opt.Device = None,
    dtype: opt.Dtype = None,
    seed: opt.Seed = None,
    temperature: opt.Temperature = 0.0,
    debug: opt.Debug = False,
) -> None:
    """Chat with the agent in the terminal; /help lists the slash commands."""
    from a3agent.cli.approval import ask_person
    from a3agent.cli.commands import run_command
    from a3agent.cli.home import history_file
    from a3agent.cli.lines import LineReader
    from a3agent.cli.models import open_model, progress
    from a3agent.cli.repl import chat_loop
    from a3agent.cli.session import ChatSession
    from a3agent.cli.toolspec import load_toolbox

    settings = opt.settings_from(system, no_think, min_think, max_think, unconstrained, dialect, tool_choice,
                                 temperature, seed)
    with _exit_on_error(debug):
        toolbox = load_toolbox(tools)
        loaded = open_model(model, err_console, device=device, dtype=dtype)
        with progress(err_console, "compiling the turn grammar"):
            session = ChatSession(loaded, toolbox, settings, ask_person(console))
    for path in image or []:
        try:
            run_command(session, f"/image {path}", console)
        except Exception as exc:  # the REPL starts anyway; the person can /image again
            report(console, exc, debug)
    chat_loop(session, LineReader(history_file()), console, debug)


@app.command()
def run(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    image: opt.Images = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the whole RunResult as JSON.")] = False,
    model: opt.Model = "tiny",
    tools: opt.Tools = "builtin",
    dialect: opt.Dialect = "hermes-json",
    no_think: opt.NoThink = False,
    min_think: opt.MinThink = None,
    max_think: opt.MaxThink = None,
    unconstrained: opt.Unconstrained = False,
    system: opt.System = None,
    tool_choice: opt.ToolChoice = "auto",
    device: opt.Device = None,
    dtype: opt.Dtype = None,
    seed: opt.Seed = None,
    temperature: opt.Temperature = 0.0,
    debug: opt.Debug = False,
) -> None:
    """Run one task and print the answer (or, with --json, the RunResult). Side-effect tools are denied."""
    from a3agent.cli.models import open_model
    from a3agent.cli.settings import build_agent
    from a3agent.cli.toolspec import load_toolbox
    from a3agent.model.images import load_image

    settings = opt.settings_from(system, no_think, min_think, max_think, unconstrained, dialect, tool_choice,
                                 temperature, seed)
    with _exit_on_error(debug):
        toolbox = load_toolbox(tools)
        images = [load_image(path) for path in image or []]
        agent = build_agent(open_model(model, err_console, device=device, dtype=dtype), toolbox, settings, None)
        result = agent.run(task, images=images)
    typer.echo(result.model_dump_json(indent=2) if json_output else result.text)


@app.command()
def demo(debug: opt.Debug = False) -> None:
    """Offline in under a minute: A3-Instruct's drift fixed by the grammar, then an image-tool episode."""
    from a3agent.cli.demo import run_demo

    with _exit_on_error(debug):
        run_demo(console, err_console)


@app.command()
def grammar(
    tools: opt.Tools = "builtin",
    dialect: opt.Dialect = "hermes-json",
    no_think: opt.NoThink = False,
    tool_choice: opt.ToolChoice = "auto",
    parallel: Annotated[bool, typer.Option(help="Allow several calls per turn.")] = True,
    debug: opt.Debug = False,
) -> None:
    """Print the lark grammar of one assistant turn for these tools and options."""
    from a3agent.cli.toolspec import load_toolbox
    from a3agent.grammars.dialects.turn import TurnOptions, turn_grammar

    with _exit_on_error(debug):
        toolbox = load_toolbox(tools)
        text = turn_grammar(toolbox.to_openai(), TurnOptions(dialect, tool_choice, parallel, not no_think))
    typer.echo(text)


@app.command("tiny-model")
def tiny_model(
    folder: Annotated[Path, typer.Argument(help="Where to write the checkpoint (must not exist yet).")],
    seed: Annotated[int, typer.Option(help="Seed of the random weights; the same seed, the same weights.")] = 0,
    debug: opt.Debug = False,
) -> None:
    """Build the offline A3-shaped tiny checkpoint (random weights, real Tekken vocabulary)."""
    from a3agent.cli.models import progress
    from a3agent.errors import CommandLineError
    from a3agent.model.tiny import build_tiny_model

    with _exit_on_error(debug):
        if folder.exists():
            raise CommandLineError(f"{folder} already exists; pick a new folder")
        with progress(err_console, f"building the tiny model in {folder}"):
            build_tiny_model(folder, seed)
    console.print(f"tiny A3-shaped checkpoint (seed {seed}) written to {folder}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="masks, decode or agent; all three when left out.")] = None,
) -> None:
    """Run benchmarks/NAME.py of the source checkout; extra arguments go through to it."""
    from a3agent.cli.bench import BENCHMARKS, run_benchmark

    status = 0
    with _exit_on_error(False):
        for which in [name] if name else BENCHMARKS:
            status = run_benchmark(which, ctx.args) or status
    raise typer.Exit(status)


def main() -> None:
    """Console-script entry point."""
    app()
