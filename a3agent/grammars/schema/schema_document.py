"""Checks on a schema document as plain JSON, before any of it is interpreted.

Everything after this step (JSON encoding of nodes, the reference validator, the compiler)
recurses over the document, so its nesting must be bounded first, by a walk that does not
recurse itself. The same walk refuses what no grammar can write: NaN and infinities (not JSON
numbers) and lone surrogates (not characters, and not encodable as UTF-8).

Not handled here: what the keywords mean (`normalizer`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from a3agent.errors import GrammarTooComplex, UnsupportedSchema
from a3agent.grammars.engine.limits import charge, check_count, limits

__all__ = ["check_document"]


def check_document(schema: Any) -> None:
    """Raise GrammarTooComplex past `schema_depth` or `schema_nodes`, or for a string past
    `text_length`; UnsupportedSchema for NaN, infinities and lone surrogates.

    A subschema sits two JSON levels below its parent (`properties` -> name -> schema), so the
    document may nest objects and arrays twice `schema_depth` deep. Cost: one visit per value.
    """
    todo: list[tuple[Any, str, int, str]] = [(schema, "", 0, "")]
    containers = 0
    while todo:
        value, path, depth, keyword = todo.pop()
        if isinstance(value, float) and not math.isfinite(value):
            raise UnsupportedSchema(path, keyword, f"{value!r} is not a JSON number")
        if keyword in _NUMBER_BOUNDS and isinstance(value, (int, float)) and not isinstance(value, bool):
            check_count(_digits(value), "number_digits", path, f"digits of {keyword}")
        if isinstance(value, str):
            _check_text(value, path, keyword)
        if not isinstance(value, (dict, list)):
            continue
        containers += 1
        charge(1, path)
        if depth > 2 * limits().schema_depth:
            raise GrammarTooComplex(path, "schema_depth", limits().schema_depth, "subschemas nested this deep")
        check_count(containers, "schema_nodes", path, "objects and arrays in the schema")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            step = _escape(key)
            if isinstance(key, str):
                _check_text(key, path, keyword)
            todo.append((item, f"{path}/{step}", depth + 1, key if isinstance(key, str) else keyword))


def _check_text(text: str, path: str, keyword: str) -> None:
    check_count(len(text), "text_length", path, "characters in one string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedSchema(path, keyword, f"{ascii(text[:40])}: a lone surrogate is not a character "
                                "and cannot be written as UTF-8") from None


def _escape(key: str | int) -> str:
    """A JSON pointer step; lone surrogates as `\\udXXX` so the path itself can be printed."""
    step = str(key).replace("~", "~0").replace("/", "~1")
    return step.encode("utf-8", "backslashreplace").decode("utf-8")


def _digits(value: int | float) -> int:
    """Decimal digits of the exact value (numerator and denominator), without printing it."""
    exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    return math.ceil((exact.numerator.bit_length() + exact.denominator.bit_length()) * math.log10(2))


_NUMBER_BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
