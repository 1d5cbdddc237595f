"""The chat loop: read a message or a slash command, run it, show it, and go on whatever happens.

Ctrl-C during a generation stops it: each run is driven by its own `asyncio.Runner`, which turns
SIGINT into a cancellation of the run's task (the agent's `stream` cannot be interrupted cleanly: its
event loop would be left mid-step), so the step being decoded ends after the token in flight. The
interrupted exchange is taken out of the conversation, so the next prompt never holds half a turn.
Ctrl-C at the prompt clears the line; Ctrl-D leaves. Errors are one red line (`failures.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from rich.console import Console
from rich.markup import escape

from a3agent.agent.events import Event, FinalEvent
from a3agent.agent.result import RunResult
from a3agent.cli.commands import LEAVE, run_command
from a3agent.cli.failures import report
from a3agent.cli.lines import LineReader
from a3agent.cli.render import RunView
from a3agent.cli.session import ChatSession

__all__ = ["chat_loop", "send", "play"]


def chat_loop(session: ChatSession, reader: LineReader, console: Console, debug: bool = False) -> None:
    """Run the REPL until `/exit` or Ctrl-D."""
    console.print(f"[bold]a3agent[/bold] chat with {escape(session.model.source)}: /help lists the commands, "
                  "Ctrl-D leaves.")
    while True:
        try:
            line = reader.read()
        except KeyboardInterrupt:
            console.print()
            continue
        except EOFError:
            console.print()
            return
        if not line.strip():
            continue
        try:
            if line.lstrip().startswith("/"):
                if run_command(session, line, console) == LEAVE:
                    return
            else:
                send(session, line, console)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/yellow]")
        except Exception as exc:  # every failure is one line, and the REPL goes on
            report(console, exc, debug)


def send(session: ChatSession, text: str, console: Console) -> RunResult | None:
    """Run one message (with the attached images) and show it; None when Ctrl-C stopped it."""
    conversation = session.conversation
    kept = len(conversation.messages)
    view = RunView(console, conversation.images, session.folder)
    try:
        result = play(session.agent.astream(text, session.take_pending()), view)
    except BaseException as exc:
        del conversation.messages[kept:]
        if not isinstance(exc, KeyboardInterrupt):
            raise
        console.print("[yellow]stopped; this exchange is left out of the conversation[/yellow]")
        return None
    session.results.append(result)
    return result


def play(events: AsyncIterator[Event], view: RunView) -> RunResult:
    """Show a run's events as they come; Ctrl-C cancels the run and raises KeyboardInterrupt here."""
    with asyncio.Runner() as runner:
        return runner.run(_show_all(events, view))


async def _show_all(events: AsyncIterator[Event], view: RunView) -> RunResult:
    final: list[RunResult] = []
    try:
        async for event in events:
            view.show(event)
            if isinstance(event, FinalEvent):
                final.append(event.result)
    finally:
        view.close()
    return final[-1]  # a run always ends with a FinalEvent
