"""Text from outside shown in the terminal as text: its control characters are displayed, never obeyed.

Web pages, files, MCP servers, tool errors and the model itself write text the CLI prints, and a
terminal obeys the control characters in it: ESC starts sequences that write the clipboard (OSC 52),
clear the screen or set the window title, U+009B (CSI) does the same on terminals that read C1
controls, and CR or backspace overwrite what was shown. Rich drops only BEL, BS, VT, FF and CR from
its `Text`. Here every C0 control but newline and tab, DEL and every C1 control becomes its escape
as text (`\\x1b`), and CRLF a newline.

`SafeConsole`, the CLI's console (`safe_console.py`), does this to every text segment it writes, so no
print path can forget it; `render.py` also escapes a run's text itself, before rich measures it for a
panel, so a panel's border stays aligned. Cost: one pass over the text, per level of nested renderables.
"""

from __future__ import annotations

import re

__all__ = ["CONTROLS", "visible", "visible_json"]

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JSON_UNESCAPED = re.compile("[\x7f-\x9f]")


def visible_json(text: str) -> str:
    """JSON text for the terminal: DEL and the C1 controls, which JSON leaves raw, as `\\u` escapes
    (C0 ones are escaped by every JSON encoder; these can only stand inside strings, so the value is
    the same). Example: `visible_json('"\\x9b2J"')` -> `'"\\\\u009b2J"'`."""
    return _JSON_UNESCAPED.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def visible(text: str) -> str:
    """`text` with its control characters written out. Example: `visible("a\\x1b[2Jb")` -> `"a\\\\x1b[2Jb"`."""
    return CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text.replace("\r\n", "\n"))
