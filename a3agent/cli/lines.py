"""Reading what the person types: line editing, history and completion through the stdlib readline.

A message is one history entry, however many lines it has: a `\"\"\"` block (which runs on over
several lines until a line that ends with `\"\"\"`) or a bracketed paste of several lines (readline
keeps the pasted newlines in the line, so a paste is one message). The history file holds one JSON
string per line, so an entry's newlines survive the next session; it is appended entry by entry,
so a session that dies keeps what was typed. Tab completes slash commands.

Where readline is missing (Windows without pyreadline) plain `input()` is used: no editing, history
or completion. prompt_toolkit is not a dependency. Ctrl-D raises `EOFError` and Ctrl-C
`KeyboardInterrupt`, for the REPL to act on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

__all__ = ["LineReader", "PROMPT", "MORE"]

PROMPT, MORE = ">>> ", "... "
_FENCE = '"""'
_HISTORY_LENGTH = 2000


class LineReader:
    """Reads one message per call to `read`; `commands` are what Tab completes at the start of a line."""

    def __init__(self, history: Path, commands: Iterable[str] = ()) -> None:
        self.history = history
        self.commands = sorted(commands)
        self._readline = _readline()
        if self._readline is not None:
            self._set_up(self._readline)

    def read(self) -> str:
        """The next message, a `\"\"\"` block joined with newlines and without its fences."""
        kept = self._history_length()
        first = input(PROMPT)
        if not first.lstrip().startswith(_FENCE):
            self._remember(first, kept)
            return first
        lines = [first]
        while not _closed(lines):
            lines.append(input(MORE))
        block = "\n".join(lines)
        self._remember(block, kept)
        return block.lstrip()[len(_FENCE) :].rstrip()[: -len(_FENCE)].strip("\n")

    def complete(self, text: str, state: int) -> str | None:
        """readline's completer: the `state`-th slash command starting with `text` at the line's start."""
        line = self._readline.get_line_buffer() if self._readline is not None else text
        if not text.startswith("/") or line.lstrip() != text:
            return None
        matches = [name + " " for name in self.commands if name.startswith(text)]
        return matches[state] if state < len(matches) else None

    def _set_up(self, readline: ModuleType) -> None:
        readline.set_history_length(_HISTORY_LENGTH)
        readline.parse_and_bind("set enable-bracketed-paste on")
        readline.set_completer(self.complete)
        readline.set_completer_delims(" \t\n")
        readline.parse_and_bind("tab: complete")
        entries = _read_entries(self.history)[-_HISTORY_LENGTH:]
        for entry in entries:
            readline.add_history(entry)
        if entries:
            _write_entries(self.history, entries, mode="w")  # keeps the file at the history length

    def _history_length(self) -> int:
        return self._readline.get_current_history_length() if self._readline is not None else 0

    def _remember(self, entry: str, kept: int) -> None:
        """Make `entry` one history entry, in place of the lines readline added after the first `kept`."""
        readline = self._readline
        if readline is None:
            return
        while readline.get_current_history_length() > kept:
            readline.remove_history_item(readline.get_current_history_length() - 1)
        if entry.strip() and readline.get_history_item(kept) != entry:
            readline.add_history(entry)
            _write_entries(self.history, [entry], mode="a")


def _closed(lines: list[str]) -> bool:
    """Whether a `\"\"\"` block ends with its last line (the opening fence does not close it)."""
    return "\n".join(lines).lstrip()[len(_FENCE) :].rstrip().endswith(_FENCE)


def _read_entries(history: Path) -> list[str]:
    """The history file's entries; a line that is not a JSON string (an older file) is taken as typed."""
    if not history.is_file():
        return []
    entries = []
    for line in history.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = line
        entries.append(entry if isinstance(entry, str) else line)
    return [entry for entry in entries if entry.strip()]


def _write_entries(history: Path, entries: list[str], mode: str) -> None:
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open(mode, encoding="utf-8") as file:
        file.writelines(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries)


def _readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:
        return None
    return readline
