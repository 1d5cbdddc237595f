"""`now`: the current date and time, which the model cannot know from its weights."""

from __future__ import annotations

from datetime import datetime

from a3agent.tools.definition import tool

__all__ = ["now"]


@tool
def now() -> str:
    """The current local date and time (ISO 8601, with the UTC offset) and the day of the week."""
    moment = datetime.now().astimezone()
    return f"{moment.isoformat(timespec='seconds')} ({moment:%A})"
