"""The REPL's slash commands, in one table: name, usage, what it does, and the function behind it.

Each handler takes the session, the text after the command and the console. Bad input raises
`CommandLineError` (the REPL prints it as one line and goes on); `/exit` returns `LEAVE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from a3agent.agent.conversation import Conversation
from a3agent.cli.exchange import send
from a3agent.cli.session import ChatSession
from a3agent.cli.stats import stats_line
from a3agent.errors import CommandLineError

__all__ = ["COMMANDS", "LEAVE", "run_command"]

LEAVE = "leave"


@dataclass(frozen=True)
class Command:
    usage: str
    summary: str
    handler: Callable[[ChatSession, str, Console], str | None]


def run_command(session: ChatSession, line: str, console: Console) -> str | None:
    """Run one `/command args` line; `LEAVE` when the REPL should end."""
    name, _, argument = line.strip().partition(" ")
    command = COMMANDS.get(name.lower())
    if command is None:
        raise CommandLineError(f"unknown command {name}; /help lists the commands")
    return command.handler(session, argument.strip(), console)


def _image(session: ChatSession, argument: str, console: Console) -> None:
    path = _path(argument, "/image PATH")
    image = session.attach(path)
    console.print(f"attached {escape(path)} ({image.width}x{image.height} px); it goes with your next message")


def _images(session: ChatSession, argument: str, console: Console) -> None:
    store = session.conversation.images
    if not len(store) and not session.pending:
        console.print("no images yet; attach one with /image PATH")
        return
    table = Table("image", "size", "file", box=None)
    table.columns[2].overflow = "fold"
    for image_id in store.ids():
        image = store.get(image_id)
        table.add_row(image_id, f"{image.width}x{image.height}", str(session.folder.save_image(image_id, image)))
    for path, image in session.pending:
        table.add_row("(next message)", f"{image.width}x{image.height}", path)
    console.print(table)


def _tools(session: ChatSession, argument: str, console: Console) -> None:
    if not len(session.toolbox):
        console.print("no tools")
        return
    servers = session.tool_servers
    table = Table("tool", *(["server"] if servers else []), "what it does", box=None)
    for tool in session.toolbox:
        summary = tool.definition.description.strip().splitlines()[0] if tool.definition.description.strip() else ""
        approval = " [yellow](asks before it runs)[/yellow]" if tool.requires_approval else ""
        server = [escape(servers.get(tool.name, "-"))] if servers else []
        table.add_row(escape(tool.name), *server, escape(summary) + approval)
    console.print(table)


def _think(session: ChatSession, argument: str, console: Console) -> None:
    usage = "/think on|off|min N|max N"
    words = argument.split()
    if words in (["on"], ["off"]):
        session.change(thinking=words[0] == "on")
    elif len(words) == 2 and words[0] in ("min", "max") and words[1].isdigit():
        session.change(**{f"{words[0]}_think": int(words[1])})
    else:
        raise CommandLineError(f"usage: {usage}")
    bounds = session.settings.think_bounds()
    span = f"{bounds.min_tokens} to {bounds.max_tokens} tokens"
    console.print(f"thinking on, {span}" if session.settings.thinking else f"thinking off ({span} once on)")


def _constrain(session: ChatSession, argument: str, console: Console) -> None:
    if argument not in ("on", "off"):
        raise CommandLineError("usage: /constrain on|off")
    session.change(constrained=argument == "on")
    console.print("constrained decoding " + ("on: valid calls, a filled think block" if argument == "on"
                                             else "off: the model's output is parsed as it comes"))


def _system(session: ChatSession, argument: str, console: Console) -> None:
    if not argument:
        console.print(f"system prompt: {escape(session.settings.system or '(none)')}")
        return
    session.set_system(argument)
    console.print("system prompt set")


def _reset(session: ChatSession, argument: str, console: Console) -> None:
    session.reset()
    console.print("new conversation")


def _save(session: ChatSession, argument: str, console: Console) -> None:
    path = Path(_path(argument, "/save PATH")).expanduser()
    session.conversation.save(path)
    console.print(f"saved {len(session.conversation.messages)} messages and "
                  f"{len(session.conversation.images)} images to {escape(str(path))}")


def _load(session: ChatSession, argument: str, console: Console) -> None:
    path = Path(_path(argument, "/load PATH")).expanduser()
    session.reset(Conversation.load(path))
    console.print(f"loaded {len(session.conversation.messages)} messages and "
                  f"{len(session.conversation.images)} images from {escape(str(path))}")


def _retry(session: ChatSession, argument: str, console: Console) -> None:
    last = session.last
    if last is None:
        raise CommandLineError("nothing to retry: /retry sends your last message again once one has run")
    del session.conversation.messages[last.start :]
    console.print(f"[dim]again: {escape(last.text)}[/dim]", soft_wrap=True)
    send(session, last.text, console, last.images)


def _stats(session: ChatSession, argument: str, console: Console) -> None:
    steps = sum(len(result.steps) for result in session.results)
    console.print(f"{len(session.results)} runs, {steps} model turns")
    console.print(Text(stats_line(session.totals()), style="dim"), soft_wrap=True)


def _help(session: ChatSession, argument: str, console: Console) -> None:
    table = Table("command", "what it does", box=None)
    for command in COMMANDS.values():
        table.add_row(escape(command.usage), command.summary)
    console.print(table)
    console.print('A message that starts with """ goes on over several lines until a line ending in """. '
                  "Ctrl-C stops a generation, Ctrl-D leaves.")


def _exit(session: ChatSession, argument: str, console: Console) -> str:
    return LEAVE


def _path(argument: str, usage: str) -> str:
    path = argument.strip().strip("'\"")
    if not path:
        raise CommandLineError(f"usage: {usage}")
    return path


COMMANDS: dict[str, Command] = {
    "/image": Command("/image PATH", "attach an image to your next message", _image),
    "/images": Command("/images", "list the conversation's images and the files they were saved to", _images),
    "/tools": Command("/tools", "list the tools the model may call (and the MCP server of each)", _tools),
    "/think": Command("/think on|off|min N|max N", "turn thinking on or off, or bound it in tokens", _think),
    "/constrain": Command("/constrain on|off", "turn grammar-constrained decoding on or off", _constrain),
    "/system": Command("/system TEXT", "set the system prompt (without TEXT: show it)", _system),
    "/reset": Command("/reset", "start a new conversation", _reset),
    "/save": Command("/save PATH", "save the conversation (JSONL, images beside it)", _save),
    "/load": Command("/load PATH", "load a saved conversation and go on with it", _load),
    "/retry": Command("/retry", "drop the last answer and send your last message again", _retry),
    "/stats": Command("/stats", "decode counters summed over the session", _stats),
    "/help": Command("/help", "this list", _help),
    "/exit": Command("/exit", "leave (Ctrl-D does too)", _exit),
}
