"""How a run looks in the terminal: the agent's events in, rich output out, as they arrive.

Thinking streams dim between a "reasoning" rule and a plain one; answer text streams as it comes; each tool call is a
panel with its arguments as pretty JSON; each result is a panel with its text trimmed and its images
as id, size and the file they were saved to; each model turn ends with the stats line. The REPL and
the demo share it; `a3agent run` prints only the answer.

Text from outside (results, the streamed words, the name in a malformed call) has its control
characters escaped (`visible.py`) here, on any console, and before it is laid out in a panel, so the
escape counts in the panel's width.

Streamed text is written once, as it arrives, and never redrawn: a redrawn region taller than the
terminal leaves a copy in the scrollback at every redraw, and a box around text whose width the
terminal measures differently from rich (CJK, Indic scripts) loses its right border. So streamed
text has no box, and the terminal wraps it.

Not handled here: asking for approval (`approval.py`) and reading input (`lines.py`).
"""

from __future__ import annotations

from typing import Literal

from rich.console import Console, Group, RenderableType
from rich.json import JSON
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from a3agent.agent.events import (
    Event,
    FinalEvent,
    StepEnd,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
    ToolResultEvent,
)
from a3agent.agent.messages import ImagePart, ToolCallPart, ToolResultPart
from a3agent.cli.home import SessionFolder
from a3agent.cli.stats import stats_line
from a3agent.cli.visible import visible
from a3agent.tools import ImageStore

__all__ = ["RunView", "reasoning_panel", "tool_call_panel", "tool_result_panel"]

_TRIM_CHARS, _TRIM_LINES = 600, 10
_STOP_NOTES = {
    "max_steps": "the run reached its step limit",
    "token_budget": "the run spent its token budget",
}

Channel = Literal["thinking", "text"]


def reasoning_panel(text: str) -> Panel:
    """The think block: dim, in a panel marked as reasoning."""
    body = Text(visible(text), style="dim") if text else Text("(empty)", style="dim italic")
    return Panel(body, title="reasoning", title_align="left", border_style="dim")


def tool_call_panel(call: ToolCallPart) -> Panel:
    """One call: the tool's name, the call id, the arguments as pretty JSON."""
    return Panel(JSON.from_data(call.arguments), title=f"tool call · {escape(call.name)}", title_align="left",
                 subtitle=call.id, subtitle_align="right", border_style="cyan")


def tool_result_panel(result: ToolResultPart, images: ImageStore, session: SessionFolder) -> Panel:
    """One result: text trimmed, each image as its id, size and saved file; errors in red."""
    lines: list[RenderableType] = []
    for part in result.parts:
        if isinstance(part, ImagePart):
            lines.append(_image_line(part.image_id, images, session))
        else:
            lines.append(Text(visible(_trim(part.text))))
    shown = escape(visible(result.name))
    name = shown if result.call_id is not None else f"malformed call {shown}".strip()
    title = f"{'tool error' if result.is_error else 'result'} · {name}"
    return Panel(Group(*lines), title=title, title_align="left", subtitle=result.call_id,
                 subtitle_align="right", border_style="red" if result.is_error else "green")


class RunView:
    """Shows one run's events on `console`; call `close` when the run ends or is interrupted.

    `images` is the conversation's image store (where result images are read from); `session` is
    where they are saved for the person to open.
    """

    def __init__(self, console: Console, images: ImageStore, session: SessionFolder) -> None:
        self.console, self.images, self.session = console, images, session
        self._streaming: _StreamedChannel | None = None

    def show(self, event: Event) -> None:
        """Render one event."""
        if isinstance(event, (ThinkingDelta, TextDelta)):
            self._stream("thinking" if isinstance(event, ThinkingDelta) else "text", event.text)
            return
        self.close()
        if isinstance(event, ToolCallEvent):
            self.console.print(tool_call_panel(event.call))
        elif isinstance(event, ToolResultEvent):
            self.console.print(tool_result_panel(event.result, self.images, self.session))
        elif isinstance(event, StepEnd):
            self.console.print(Text(stats_line(event.step.counters), style="dim"), soft_wrap=True)
        elif isinstance(event, FinalEvent) and event.result.stop_reason in _STOP_NOTES:
            self.console.print(f"[yellow]{_STOP_NOTES[event.result.stop_reason]}[/yellow]")

    def close(self) -> None:
        """Finish the text being streamed, if any."""
        if self._streaming is not None:
            self._streaming.stop()
            self._streaming = None

    def _stream(self, channel: Channel, text: str) -> None:
        if self._streaming is not None and self._streaming.channel != channel:
            self.close()
        if self._streaming is None:
            self._streaming = _StreamedChannel(self.console, channel)
        self._streaming.add(text)


class _StreamedChannel:
    """Streamed text of one channel, written as it arrives: dim between two rules, or plain."""

    def __init__(self, console: Console, channel: Channel) -> None:
        self.console, self.channel = console, channel
        self._style = "dim" if channel == "thinking" else ""
        if channel == "thinking":
            console.rule("reasoning", align="left", style="dim", characters="─")

    def add(self, text: str) -> None:
        self.console.print(visible(text), style=self._style, end="", soft_wrap=True, markup=False, highlight=False)

    def stop(self) -> None:
        self.console.print()
        if self.channel == "thinking":
            self.console.rule(style="dim", characters="─")


def _image_line(image_id: str, images: ImageStore, session: SessionFolder) -> Text:
    if image_id not in images:
        return Text(f"image {image_id}", style="magenta")
    image = images.get(image_id)
    path = session.save_image(image_id, image)
    return Text(f"image {image_id} · {image.width}x{image.height} px · saved to {path}", style="magenta")


def _trim(text: str) -> str:
    """At most `_TRIM_LINES` lines and `_TRIM_CHARS` characters, saying how much was left out."""
    lines = text.splitlines()
    short = "\n".join(lines[:_TRIM_LINES])[:_TRIM_CHARS]
    return short if short == text else f"{short} … ({len(text) - len(short)} more characters)"

