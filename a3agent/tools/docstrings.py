"""Google-style docstrings -> a tool description and per-parameter descriptions.

The model only sees what the schema says, so the summary and the `Args:` section are worth carrying over.
Handles `Args:` / `Arguments:` / `Parameters:` entries written `name: text` or `name (type): text`, with
indented continuation lines. Does not read other sections (Returns, Raises, Example), nor numpy or
reST-style docstrings: those leave the parameters without descriptions.
"""

from __future__ import annotations

import inspect
import re
import textwrap

__all__ = ["parse_docstring"]

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?|Attributes|See Also|Warnings?|Todo):\s*$"
)
_ARGS_SECTIONS = {"Args", "Arguments", "Parameters"}
_ARG = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {parameter: description}).

    Example: `parse_docstring("Add.\\n\\nArgs:\\n    a: first term.")` -> `("Add.", {"a": "first term."})`
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    starts = [i for i, line in enumerate(lines) if _SECTION.match(line)]
    description = "\n".join(lines[: starts[0] if starts else len(lines)]).strip()
    params: dict[str, str] = {}
    for start, end in zip(starts, [*starts[1:], len(lines)]):
        if _SECTION.match(lines[start]).group(1) in _ARGS_SECTIONS:
            params.update(_parse_args(lines[start + 1 : end]))
    return description, params


def _parse_args(lines: list[str]) -> dict[str, str]:
    body = textwrap.dedent("\n".join(lines)).splitlines()
    params: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in body:
        match = _ARG.match(line) if not line[:1].isspace() else None
        if match:
            current = params.setdefault(match.group(1).lstrip("*"), [])
            current.append(match.group(2))
        elif current is not None and line.strip():
            current.append(line.strip())
    return {name: " ".join(part for part in text if part) for name, text in params.items()}
