"""Sending one message and showing its run as it happens: the REPL's messages, `/retry`, the demo.

Ctrl-C during a generation stops it: each run is driven by its own `asyncio.Runner`, which turns
SIGINT into a cancellation of the run's task (the agent's `stream` cannot be interrupted cleanly: its
event loop would be left mid-step), so the step being decoded ends after the token in flight. A run
that does not finish is taken out of the conversation, so the next prompt never holds half a turn,
and the images it took stay attached for the next message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from PIL import Image
from rich.console import Console

from a3agent.agent.events import Event, FinalEvent
from a3agent.agent.result import RunResult
from a3agent.cli.render import RunView
from a3agent.cli.session import ChatSession, Exchange

__all__ = ["send", "play"]


def send(
    session: ChatSession, text: str, console: Console, images: Sequence[Image.Image] | None = None
) -> RunResult | None:
    """Run one message with `images` (default: the attached ones) and show it; None when Ctrl-C stopped it."""
    conversation = session.conversation
    takes_attached = images is None
    exchange = Exchange(text, session.pending_images() if images is None else list(images),
                        len(conversation.messages))
    view = RunView(console, conversation.images, session.folder)
    try:
        result = play(session.agent.astream(text, exchange.images), view)
    except BaseException as exc:
        del conversation.messages[exchange.start :]
        if not isinstance(exc, KeyboardInterrupt):
            raise
        kept = "; the attached images stay for your next message" if takes_attached and session.pending else ""
        console.print(f"[yellow]stopped; this exchange is left out of the conversation{kept}[/yellow]")
        return None
    session.ran(exchange, result, took_attached=takes_attached)
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
