"""jsonschema validators that never fetch a `$ref` and check patterns and `uniqueItems` in bounded time.

jsonschema, as it comes, fetches an `http` `$ref` it cannot resolve (a request from the machine
running the tool, to wherever the schema's author points), matches `pattern`, `patternProperties`
and the patterns `additionalProperties` looks at with Python's backtracking `re` (`^(\\w+\\s?)*$`
takes a minute on 30 characters that do not match), and compares the items of a `uniqueItems`
array pairwise (4000 objects: half a minute). Here references resolve within the schema and to the
drafts' meta-schemas only; those three keywords take their matcher, `found(pattern, text)`: by
default the `regex` module under a time limit per string, past which the value is refused as
unchecked, and within `pattern_budget()` under one limit for all strings, past which the arguments
are refused (`ToolArgumentsError`); the grammar compiler passes its own ECMA-262 automata. Unique
items are found in one pass over a set of canonical keys. `multipleOf` is exact decimal arithmetic,
as the grammar reads number texts: jsonschema divides binary floats, so 19.99 was no multiple of
0.01 and a tool's `price` argument the grammar let through was refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from functools import cache
from typing import Any

import jsonschema
import regex
from jsonschema.exceptions import ValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from a3agent.errors import ToolArgumentsError

__all__ = ["bounded_validator", "pattern_budget", "PATTERN_SECONDS", "PATTERN_CALL_SECONDS"]

PATTERN_SECONDS = 1.0
"""Time one pattern may take on one string before the string is refused as unchecked."""

PATTERN_CALL_SECONDS = 2.0
"""Time all pattern matches within one `pattern_budget()` (one call's arguments) may take together:
past it the arguments are refused, so a call costs at most this however many strings it holds."""

_deadline: ContextVar[float | None] = ContextVar("pattern_deadline", default=None)

Found = Callable[[str, str], bool]
"""Whether a pattern is found in a string."""


def bounded_validator(schema: Any, found: Found | None = None, format_checker: jsonschema.FormatChecker | None = None) -> Any:
    """A validator of `schema`'s draft (2020-12 when it names none) matching patterns with `found`
    and resolving no reference outside the schema (`referencing.exceptions.Unresolvable`)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return _with_patterns(cls, found or _found_in_time)(schema, format_checker=format_checker, registry=SPECIFICATIONS)


class _Unchecked(Exception):
    """A pattern ran past `PATTERN_SECONDS` on a string."""


@contextmanager
def pattern_budget() -> Iterator[None]:
    """Within it, the default matcher's patterns share `PATTERN_CALL_SECONDS`; past that they raise
    ToolArgumentsError, ending the validation."""
    token = _deadline.set(time.monotonic() + PATTERN_CALL_SECONDS)
    try:
        yield
    finally:
        _deadline.reset(token)


def _found_in_time(pattern: str, text: str) -> bool:
    deadline = _deadline.get()
    left = PATTERN_SECONDS if deadline is None else min(PATTERN_SECONDS, deadline - time.monotonic())
    try:
        if left <= 0:
            raise TimeoutError
        return regex.search(pattern, text, timeout=left) is not None
    except TimeoutError:
        if deadline is not None and time.monotonic() >= deadline:
            raise ToolArgumentsError(f"matching its patterns against these arguments took more than "
                                     f"PATTERN_CALL_SECONDS={PATTERN_CALL_SECONDS:g} s in all; call it with fewer "
                                     "or shorter strings") from None
        raise _Unchecked(f"{text[:40]!r} could not be matched against {pattern!r} within {PATTERN_SECONDS} s") from None


@cache
def _with_patterns(cls: Any, found: Found) -> Any:
    def pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
        if validator.is_type(instance, "string"):
            try:
                if not found(pattern, instance):
                    yield ValidationError(f"{instance!r} does not match {pattern!r}")
            except _Unchecked as e:
                yield ValidationError(str(e))

    def pattern_properties(validator: Any, patterns: dict, instance: Any, schema: dict) -> Iterator[ValidationError]:
        if validator.is_type(instance, "object"):
            for key, value in instance.items():
                for hit in (p for p in patterns if _decided(found, p, key, undecided=True)):
                    yield from validator.descend(value, patterns[hit], path=key, schema_path=hit)

    def additional_properties(validator: Any, additional: Any, instance: Any, schema: dict) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        declared, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
        extras = sorted((k for k in instance if k not in declared
                         and not any(_decided(found, p, k, undecided=False) for p in patterns)), key=str)
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif not additional and extras:  # jsonschema's own wording
            listed = ", ".join(repr(extra) for extra in extras)
            if patterns:
                verb = "does" if len(extras) == 1 else "do"
                names = ", ".join(repr(p) for p in sorted(patterns))
                yield ValidationError(f"{listed} {verb} not match any of the regexes: {names}")
            else:
                verb = "was" if len(extras) == 1 else "were"
                yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")

    return jsonschema.validators.extend(cls, {
        "pattern": pattern, "patternProperties": pattern_properties, "additionalProperties": additional_properties,
        "uniqueItems": _unique_items, "multipleOf": _multiple_of,
    })


def _multiple_of(validator: Any, step: Any, instance: Any, schema: dict) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "number"):
        return
    if isinstance(step, bool) or not isinstance(step, (int, float)):  # malformed, as jsonschema fails on it
        raise TypeError(f"multipleOf must be a number, not {step!r}")
    if isinstance(instance, float) and not math.isfinite(instance):  # no JSON text: not a multiple
        yield ValidationError(f"{instance!r} is not a multiple of {step}")
        return
    if (_decimal(instance) / _decimal(step)).denominator != 1:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")  # jsonschema's own wording


def _decimal(number: Any) -> Fraction:
    """The exact value of a number as JSON writes it: a float by its shortest repr (0.01, not the
    binary fraction nearest to it)."""
    return Fraction(repr(number)) if isinstance(number, float) else Fraction(number)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: dict) -> Iterator[ValidationError]:
    if unique and validator.is_type(instance, "array"):
        seen: set[Hashable] = set()
        for item in instance:
            key = _canonical(item)
            if key in seen:
                yield ValidationError(f"{instance!r} has non-unique elements")  # jsonschema's own wording
                return
            seen.add(key)


def _canonical(value: Any) -> Hashable:
    """A key that is equal for values JSON Schema calls equal, as jsonschema's `equal` does: 1 and 1.0
    alike, True and 1 not, arrays and objects by their members."""
    if isinstance(value, (bool, str)):
        return type(value), value
    if isinstance(value, Mapping):
        return dict, frozenset((key, _canonical(item)) for key, item in value.items())
    if isinstance(value, Sequence):
        return list, tuple(_canonical(item) for item in value)
    try:
        hash(value)
    except TypeError:  # not JSON: equal to itself only
        return id, id(value)
    return object, value  # numbers and null: Python's equality is JSON Schema's


def _decided(found: Found, pattern: str, key: str, undecided: bool) -> bool:
    """`found`, or `undecided` when it ran out of time: the stricter reading for the keyword
    asking (a key a pattern may match is judged by that pattern's schema, and is not taken for
    one that `additionalProperties` lets by)."""
    try:
        return found(pattern, key)
    except _Unchecked:
        return undecided
