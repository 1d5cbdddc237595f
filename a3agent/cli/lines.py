"""Reading what the person types: line editing and history through the stdlib readline, `\"\"\"` blocks.

History is kept across sessions in one file under the a3agent home, appended line by line so a
session that dies keeps what was typed. Where readline is missing (Windows without pyreadline)
plain `input()` is used: no editing, no history. prompt_toolkit is not a dependency.

A message that starts with `\"\"\"` runs on over several lines until a line that ends with `\"\"\"`.
Ctrl-D raises `EOFError` and Ctrl-C `KeyboardInterrupt`, for the REPL to act on.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

__all__ = ["LineReader", "PROMPT", "MORE"]

PROMPT, MORE = ">>> ", "... "
_FENCE = '"""'
_HISTORY_LENGTH = 2000


class LineReader:
    """Reads one message per call to `read`."""

    def __init__(self, history: Path) -> None:
        self.history = history
        self._readline = _readline()
        if self._readline is not None:
            self._readline.set_history_length(_HISTORY_LENGTH)
            if history.is_file():
                self._readline.read_history_file(history)
                self._readline.write_history_file(history)  # keeps the file at the history length

    def read(self) -> str:
        """The next message, a `\"\"\"` block joined with newlines and without its fences."""
        first = self._line(PROMPT)
        if not first.lstrip().startswith(_FENCE):
            return first
        body = first.lstrip()[len(_FENCE) :]
        lines = []
        while not body.rstrip().endswith(_FENCE):
            lines.append(body)
            body = self._line(MORE)
        lines.append(body.rstrip()[: -len(_FENCE)])
        return "\n".join(lines).strip("\n")

    def _line(self, prompt: str) -> str:
        line = input(prompt)
        if self._readline is not None and line.strip():
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self.history.touch()
            self._readline.append_history_file(1, self.history)
        return line


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:
        return None
    return readline
