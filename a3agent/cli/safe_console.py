"""The CLI's console: a rich console that shows the control characters of the text it prints
(`visible`), so no print path can forget to. Apart from `visible.py`, which the paths that must not
import rich (usage errors, `--json`) use alone."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from a3agent.cli.visible import CONTROLS, visible

__all__ = ["SafeConsole"]


class SafeConsole(Console):
    """A rich console whose text segments show their control characters (`visible`).

    Rich's own escape sequences are untouched: styles are rendered from a segment's style, and cursor
    moves (live displays) are control segments, never text.
    """

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not CONTROLS.search(segment.text):
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)
