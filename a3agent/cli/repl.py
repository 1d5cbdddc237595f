"""The chat loop: read a message or a slash command, run it, show it, and go on whatever happens.

Ctrl-C during a generation stops it (`exchange.py`); Ctrl-C at the prompt clears the line; Ctrl-D
leaves. Errors are one red line (`failures.py`).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from a3agent.cli.commands import LEAVE, run_command
from a3agent.cli.exchange import send
from a3agent.cli.failures import report
from a3agent.cli.lines import LineReader
from a3agent.cli.session import ChatSession

__all__ = ["chat_loop"]


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
