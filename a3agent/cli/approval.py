"""The approval prompt for side-effect tools (`requires_approval=True`): the person says yes or no.

The call's panel is already on screen when the question comes (the agent yields a call's event
before it runs the call), so the prompt names only the tool. Anything but yes denies, and so does
Ctrl-D; the model is then told the call was denied.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from a3agent.tools import Approve, ToolCall

__all__ = ["ask_person"]


def ask_person(console: Console) -> Approve:
    """An `Approve` callback that asks on `console`."""

    def approve(call: ToolCall) -> bool:
        try:
            answer = console.input(f"[yellow]run {escape(call.name)}? it has side effects[/yellow] [y/N] ")
        except EOFError:
            return False
        return answer.strip().lower() in ("y", "yes")

    return approve
