"""The approval prompt for side-effect tools (`requires_approval=True`): the person says yes or no.

The call's panel is already on screen when the question comes (the agent yields a call's event
before it runs the call), so the prompt names only the tool. y or yes runs it; n, no or just Enter
denies it, and so does Ctrl-D; anything else asks again. The model is told when a call was denied.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from a3agent.tools import Approve, ToolCall

__all__ = ["ask_person"]

_ANSWERS = {"y": True, "yes": True, "n": False, "no": False, "": False}
"""What each clear answer means; Enter alone takes the default, no."""


def ask_person(console: Console) -> Approve:
    """An `Approve` callback that asks on `console`."""

    def approve(call: ToolCall) -> bool:
        question = f"[yellow]run {escape(call.name)}? it has side effects[/yellow] {escape('[y/N]')} "
        while True:
            try:
                answer = console.input(question).strip().lower()
            except EOFError:
                return False
            if answer in _ANSWERS:
                return _ANSWERS[answer]
            console.print("please answer y (run it) or n (deny it)")

    return approve

