"""Docstrings -> a tool description and per-parameter descriptions, in Google, NumPy or reST style.

The model only sees what the schema says, so the summary and the parameter texts are worth carrying
over. Parsing is docstring_parser's (the style is detected per docstring); continuation lines are
joined into one line per parameter. Does not carry over other sections (Returns, Raises, Examples):
the schema has no place for them. A docstring the parser refuses becomes the description whole.
"""

from __future__ import annotations

import inspect

import docstring_parser

__all__ = ["parse_docstring"]


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {parameter: description}).

    Example: `parse_docstring("Add.\\n\\nArgs:\\n    a: first term.")` -> `("Add.", {"a": "first term."})`
    """
    text = inspect.cleandoc(doc or "")
    try:
        parsed = docstring_parser.parse(text)
    except docstring_parser.ParseError:
        return text, {}
    params = {param.arg_name.lstrip("*"): _one_line(param.description) for param in parsed.params}
    return (parsed.description or "").strip(), {name: text for name, text in params.items() if text}


def _one_line(text: str | None) -> str:
    return " ".join(line.strip() for line in (text or "").splitlines() if line.strip())
