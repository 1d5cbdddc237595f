"""The `a3agent` command: a thin typer app over the four rooms.

    a3agent chat [--model PATH | HUB_ID | tiny | scripted:NAME] [--image FILE]...   the REPL
    a3agent run "TASK" [--image FILE]... [--json]                                   one shot
    a3agent serve [--model ...] [--host 127.0.0.1] [--port 8000] [--api-key KEY]   OpenAI-compatible endpoint
    a3agent demo                                    the drift fixed, and an image-tool episode, offline
    a3agent grammar [--tools ...] [--dialect ...] [--no-think] [--tool-choice ...]  the turn grammar
    a3agent tiny-model DIR                          build the offline tiny checkpoint
    a3agent bench [masks|decode|agent] [ARGS]...    run a benchmark script of the checkout
    a3agent collect TASKS.jsonl --out DIR / export DIR --out FILE / report DIR   L2 prototyping (collecting.py)

Heavy imports (torch, transformers, the tools, rich) happen inside the commands that need them, after the
options are checked, and option values are coerced without pydantic (`coercion.py`), so `--help` and a
usage error come back fast (`tests/test_startup_imports.py`, `benchmarks/startup.py`). Every failure is one red line on
stderr (with `run --json`, a JSON object on stdout) and an exit status by kind (`failures.py`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

import a3agent
from a3agent.cli import options as opt
from a3agent.cli.consoles import err_console, out_console
from a3agent.cli.failures import error_json, failure_of, report
from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from typer._click.core import Context, Parameter

    from a3agent.cli.settings import AgentSettings
    from a3agent.tools import Toolbox

__all__ = ["app", "main"]


_PYDANTIC_COERCION = find_spec("typer._coercion") is not None
"""This typer turns option values into Python values through pydantic; older ones do it through click."""


def _light(params: list[Parameter]) -> list[Parameter]:
    """`params` coerced without pydantic where typer would import it (`coercion.py`)."""
    if not _PYDANTIC_COERCION:
        return params
    try:
        from a3agent.cli.coercion import light_coercion
    except ImportError:  # a typer whose private modules moved: its own (slower) coercion is right
        return params
    return light_coercion(params)


class _Command(TyperCommand):
    """A command whose option values are checked without importing pydantic."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _light(super().get_params(ctx))


class _Commands(TyperGroup):
    """The command group: under `--json`, a usage error the parser finds is JSON too; option values are
    checked without importing pydantic."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        return _light(super().get_params(ctx))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        arguments = list(sys.argv[1:] if args is None else args)
        if "--json" not in arguments:
            return super().main(arguments, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        try:
            status = super().main(arguments, prog_name, complete_var, False, windows_expand_args, **extra)
        except Exception as exc:  # only the parser's usage errors get here: the commands report their own
            usage = CommandLineError(str(exc))
            typer.echo(error_json(usage))
            sys.exit(failure_of(usage).status)
        sys.exit(status or 0)


app = typer.Typer(
    cls=_Commands,
    help="Grammar-constrained tool calling and an image-grounded agent loop for A3-Instruct.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help and usage errors: rich's formatter imports markdown-it, pygments and attrs
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"a3agent {a3agent.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Grammar-constrained tool calling and an image-grounded agent loop for A3-Instruct."""


@contextmanager
def _reported(debug: bool, as_json: bool = False) -> Iterator[None]:
    """Report a failure (one line on stderr, or JSON on stdout) and exit with its status (`failures.py`)."""
    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        if as_json:
            typer.echo(error_json(exc))
        else:
            report(err_console(), exc, debug)
        raise typer.Exit(failure_of(exc).status) from None


def _toolbox_with_mcp(toolbox: Toolbox, config: Path | None, closing: ExitStack) -> tuple[Toolbox, dict[str, str]]:
    """`toolbox` plus the tools of `--mcp`'s servers (started, and closed with `closing`), and their servers."""
    if config is None:
        return toolbox, {}
    from a3agent.cli.mcp import start_mcp, with_mcp_tools

    servers = start_mcp(config, err_console())
    closing.callback(servers.close)
    return with_mcp_tools(toolbox, servers)


def _check_early(settings: AgentSettings, tools: str, mcp: Path | None, model: str | None) -> None:
    """The checks of `--tool-choice`, the think bounds and `--model scripted:NAME` made before any tool or
    model is imported, where `--tools` gives tools known by name (`builtin`, `none`) and no `--mcp` adds
    more, so nothing loaded in between could fail first; `model` None leaves the model to its turn."""
    from a3agent.cli.toolspec import known_tool_names

    names = known_tool_names(tools) if mcp is None else None
    if names is None:
        return
    settings.check_tools(names)
    if model is not None:
        from a3agent.cli.models import check_script

        check_script(model)


def _task_text(task: str) -> str:
    """The task, read from stdin when it is `-`."""
    if task != "-":
        return task
    text = sys.stdin.read().strip()
    if not text:
        raise CommandLineError("run -: stdin held no task; pipe one in, e.g. echo 'What is 2+3?' | a3agent run -")
    return text


@app.command(cls=_Command)
def chat(
    model: opt.Model = "tiny",
    image: opt.Images = None,
    tools: opt.Tools = "builtin",
    mcp: opt.Mcp = None,
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
    top_p: opt.TopP = 1.0,
    max_new_tokens: opt.MaxNewTokens = None,
    max_steps: opt.MaxSteps = None,
    debug: opt.Debug = False,
) -> None:
    """Chat with the agent in the terminal; /help lists the slash commands."""
    settings = opt.settings_from(
        system=system, no_think=no_think, min_think=min_think, max_think=max_think, unconstrained=unconstrained,
        dialect=dialect, tool_choice=tool_choice, temperature=temperature, top_p=top_p, seed=seed,
        max_new_tokens=max_new_tokens, max_steps=max_steps,
    )  # fmt: skip
    with ExitStack() as servers:  # the MCP servers stay up until the REPL ends
        with _reported(debug):
            settings.check_options()
            from a3agent.cli.home import checked_home, history_file

            checked_home()
            _check_early(settings, tools, mcp, model)  # the images are attached after the model loads
            from a3agent.cli.approval import ask_person
            from a3agent.cli.commands import COMMANDS, run_command
            from a3agent.cli.lines import LineReader
            from a3agent.cli.models import open_model, progress
            from a3agent.cli.repl import chat_loop
            from a3agent.cli.session import ChatSession
            from a3agent.cli.toolspec import load_toolbox

            toolbox, tool_servers = _toolbox_with_mcp(load_toolbox(tools), mcp, servers)
            settings.check_tools([tool.name for tool in toolbox])
            console = out_console()
            loaded = open_model(model, err_console(), device=device, dtype=dtype, debug=debug)
            with progress(err_console(), "compiling the turn grammar"):
                session = ChatSession(loaded, toolbox, settings, ask_person(console), tool_servers=tool_servers)
        for path in image or []:
            try:
                run_command(session, f"/image {path}", console)
            except Exception as exc:  # the REPL starts anyway; the person can /image again
                report(console, exc, debug)
        chat_loop(session, LineReader(history_file(), COMMANDS), console, debug)


@app.command(cls=_Command)
def run(
    task: Annotated[str, typer.Argument(help="What the agent should do; - reads it from stdin.")],
    image: opt.Images = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the whole RunResult as JSON; an error as {\"error\": {\"type\", \"message\"}}.")] = False,
    model: opt.Model = "tiny",
    tools: opt.Tools = "builtin",
    mcp: opt.Mcp = None,
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
    top_p: opt.TopP = 1.0,
    max_new_tokens: opt.MaxNewTokens = None,
    max_steps: opt.MaxSteps = None,
    debug: opt.Debug = False,
) -> None:
    """Run one task and print the answer (or, with --json, the RunResult). Side-effect tools (and MCP tools not
    trusted in the config) are denied."""
    settings = opt.settings_from(
        system=system, no_think=no_think, min_think=min_think, max_think=max_think, unconstrained=unconstrained,
        dialect=dialect, tool_choice=tool_choice, temperature=temperature, top_p=top_p, seed=seed,
        max_new_tokens=max_new_tokens, max_steps=max_steps,
    )  # fmt: skip
    with ExitStack() as servers, _reported(debug, json_output):
        settings.check_options()
        text = _task_text(task)
        from a3agent.cli.home import checked_home

        checked_home()
        _check_early(settings, tools, mcp, None if image else model)  # the images load before the model
        from a3agent.cli.models import open_model
        from a3agent.cli.settings import build_agent
        from a3agent.cli.toolspec import load_toolbox

        toolbox, _ = _toolbox_with_mcp(load_toolbox(tools), mcp, servers)
        settings.check_tools([tool.name for tool in toolbox])
        images = []
        if image:
            from a3agent.model.images import load_image  # imports torch: after every check that needs none

            images = [load_image(path) for path in image]
        loaded = open_model(model, err_console(), device=device, dtype=dtype, debug=debug)
        result = build_agent(loaded, toolbox, settings, None).run(text, images=images)
    from a3agent.cli.visible import visible, visible_json  # the answer may repeat a page's escape sequences

    typer.echo(visible_json(result.model_dump_json(indent=2)) if json_output else visible(result.text))


@app.command(cls=_Command)
def serve(
    model: opt.Model = "tiny",
    host: Annotated[str, typer.Option(
        help="Address to listen on. Loopback by default; any other address requires --api-key.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    api_key: Annotated[Optional[str], typer.Option(
        "--api-key", envvar="A3AGENT_API_KEY",
        help="Clients must send 'Authorization: Bearer KEY'. Required to bind beyond loopback.")] = None,
    allow_image_urls: Annotated[bool, typer.Option(
        "--allow-image-urls", help="Fetch http(s) image URLs (public addresses only); else only data: URLs.")] = False,
    served_model_name: Annotated[Optional[str], typer.Option(
        help="The model name clients send (default: --model as given).")] = None,
    dialect: opt.Dialect = "hermes-json",
    max_queued: Annotated[int, typer.Option(
        min=0, help="Requests that may wait behind the running one; more are answered 429.")] = 8,
    device: opt.Device = None,
    dtype: opt.Dtype = None,
    debug: opt.Debug = False,
) -> None:
    """Serve the model over OpenAI's chat-completions API, its tool calls made valid by the grammar."""
    with _reported(debug):
        from a3agent.serve.server import check_bind

        check_bind(host, api_key)
        from a3agent.cli.models import open_model
        from a3agent.serve.options import ServeOptions
        from a3agent.serve.server import run_server

        options = ServeOptions(model_name=served_model_name or model, api_key=api_key, dialect=dialect,
                               allow_image_urls=allow_image_urls, max_waiting=max_queued)
        loaded = open_model(model, err_console(), device=device, dtype=dtype, debug=debug)
        err_console().print(f"serving {options.model_name!r} at http://{host}:{port}/v1")
        run_server(loaded, options, host, port)


@app.command(cls=_Command)
def demo(debug: opt.Debug = False) -> None:
    """Offline in under a minute: A3-Instruct's drift fixed by the grammar, then an image-tool episode."""
    from a3agent.cli.demo import run_demo
    from a3agent.cli.home import checked_home

    with _reported(debug):
        checked_home()
        run_demo(out_console(), err_console())


@app.command(cls=_Command)
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

    with _reported(debug):
        toolbox = load_toolbox(tools)
        text = turn_grammar(toolbox.to_openai(), TurnOptions(dialect, tool_choice, parallel, not no_think))
    typer.echo(text)


@app.command("tiny-model", cls=_Command)
def tiny_model(
    folder: Annotated[Path, typer.Argument(help="Where to write the checkpoint (must not exist yet).")],
    seed: Annotated[int, typer.Option(help="Seed of the random weights; the same seed, the same weights.")] = 0,
    debug: opt.Debug = False,
) -> None:
    """Build the offline A3-shaped tiny checkpoint (random weights, real Tekken vocabulary)."""
    from a3agent.cli.models import progress
    from a3agent.model.tiny import build_tiny_model

    with _reported(debug):
        if folder.exists():
            raise CommandLineError(f"{folder} already exists; pick a new folder")
        with progress(err_console(), f"building the tiny model in {folder}"):
            build_tiny_model(folder, seed)
    out_console().print(f"tiny A3-shaped checkpoint (seed {seed}) written to {folder}")


@app.command(cls=_Command, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="masks, decode or agent; all three when left out.")] = None,
) -> None:
    """Run benchmarks/NAME.py of the source checkout; extra arguments go through to it."""
    from a3agent.cli.bench import BENCHMARKS, run_benchmark

    status = 0
    with _reported(False):
        for which in [name] if name else BENCHMARKS:
            status = run_benchmark(which, ctx.args) or status
    raise typer.Exit(status)


from a3agent.cli.collecting import collect_command, export_command, report_command  # noqa: E402 (light: typer only)

app.command("collect", cls=_Command)(collect_command)
app.command("export", cls=_Command)(export_command)
app.command("report", cls=_Command)(report_command)


def main() -> None:
    """Console-script entry point."""
    app()
