"""Differential fuzzing of the schema compiler on synthesized schemas (never seen in any corpus).

`random_schemas()` composes small draft 2020-12 schemas from the keywords real tool schemas use
(types and type lists, object, array, string, number keywords, `enum`/`const`, `format`,
`pattern` from a fixed set of ECMA-262 patterns, the combinators, `$defs`/`$ref` with recursion
that has a base case), nested up to depth ~4. `instances_for(schema)` draws JSON values aimed at
a schema: it walks the schema and satisfies what it declares (required and some optional
properties, types, bounds, lengths, patterns, formats), choosing boundary values on both sides
of each bound, and now and then breaks one more thing (`schema_fuzz.mutated_value`); so a good
share of instances are valid and the rest fail by little. Keys are put in schema order
(`schema_fuzz._in_schema_order`).

`check(engine, schema, data)` runs `schema_fuzz.Engine.check` (same contract, same allowed
excuses), except where jsonschema's Python reading of the schema differs from the JSON Schema
one: `pattern`/`patternProperties` run by Python's `re` (`\\d` takes any Unicode digit, `$` matches
before a final newline, `\\s` differs) and `multipleOf`/bounds computed in binary floating point
(`0.07` is no multiple of `0.01` for jsonschema), and `time`/`date-time` checked by
`rfc3339_validator`, which refuses every leap second (`23:59:60Z`, valid by RFC 3339 and the
JSON-Schema-Test-Suite). There a second oracle (`exact_valid`: the same jsonschema with those
keywords replaced by ECMA-262 equivalents written for each pattern of the fixed set, exact decimal
arithmetic on the numbers as JSON text writes them, and leap seconds at 23:59 UTC) is the truth,
and the case is also counted as an oracle quirk.

`run_case(engine, schema, instances)` is the whole per-schema check used by the test and the long
run: it compiles (timed; anything but a `GrammarError` is a finding, and so is a compile slower
than `SLOW_COMPILE_SECONDS`), then checks each instance (and also its compact spelling, which the
engine also accepts) and returns the findings.

Used by `test_random_schema_fuzz.py` (a bounded sample) and `benchmarks/random_schema_fuzz.py`.
"""

from __future__ import annotations

import copy
import json
import math
import re
import sys
import time
import traceback
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import referencing.exceptions
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import json_schema_suite as suite  # noqa: E402
import schema_fuzz  # noqa: E402
from schema_fuzz import JSON_VALUES  # noqa: E402

SLOW_COMPILE_SECONDS = 3.0
MAX_DEPTH = 4

# -- building blocks ------------------------------------------------------------------------------

_ECMA_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_DOT = "[^\n\r\u2028\u2029]"

# (ECMA-262 pattern, a Python `re` pattern with the same meaning, strings to try against it)
PATTERNS: list[tuple[str, str, list[str]]] = [
    (r"^[a-z]+$", r"^[a-z]+\Z", ["abc", "a", "", "Abc", "abc\n", "ab1", "é"]),
    (r"^\d{3}-\d{4}$", r"^[0-9]{3}-[0-9]{4}\Z", ["555-1234", "55-1234", "555-12345", "555-1234\n", "٣٣٣-1234", "5551234"]),
    (r"[A-Z]", r"[A-Z]", ["A", "aBc", "abc", "", "É", "Ａ"]),
    (r"^(foo|bar)", r"^(foo|bar)", ["foo", "barx", "xfoo", "fo", "Foo"]),
    (r"abc|^x", r"abc|^x", ["x", "xyz", "zabc", "ab", "yx"]),
    (r"^\S+$", rf"^[^{_ECMA_SPACE}]+\Z", ["abc", "a b", "", "a\u00a0b", "a\x85b", "a\ufeffb", "a\x1cb", "tab\t"]),
    (r"^\w+@\w+\.com$", r"^[A-Za-z0-9_]+@[A-Za-z0-9_]+\.com\Z", ["a@b.com", "a_1@b2.com", "é@b.com", "a@b.org", "a@b.com\n", "@b.com"]),
    (r"^.{2,4}$", rf"^{_ECMA_DOT}{{2,4}}\Z", ["ab", "abcd", "a", "abcde", "a\rb", "a\u2028", "ab\n", "é€"]),
    (r"^[0-9a-f]{2}(:[0-9a-f]{2}){2}$", r"^[0-9a-f]{2}(:[0-9a-f]{2}){2}\Z", ["0a:1b:2c", "0a:1b", "0A:1b:2c", "0a:1b:2c:3d", "0a-1b-2c"]),
    (r"x*y?z+", r"x*y?z+", ["z", "xxyz", "y", "", "abz", "xy"]),
    (r"^(ab)*$", r"^(ab)*\Z", ["", "ab", "abab", "aba", "ba", "ab\n"]),
    (r"é|ü", r"é|ü", ["é", "über", "e", "ue", "É"]),
    (r"^[\u00e0-\u00ff]+$", r"^[\u00e0-\u00ff]+\Z", ["àé", "ÿ", "a", "", "Ā", "éa"]),
    (r"^-?[0-9]+(\.[0-9]{1,2})?$", r"^-?[0-9]+(\.[0-9]{1,2})?\Z", ["12", "-3.5", "1.234", "1.", "-", "0.05", "١٢"]),
    (r"^$", r"^\Z", ["", "a", "\n", " "]),
    (r"^a{0,2}b{2}$", r"^a{0,2}b{2}\Z", ["bb", "abb", "aabb", "aaabb", "ab", "bbb"]),
    (r"^[A-Z][a-z]*( [A-Z][a-z]*)*$", r"^[A-Z][a-z]*( [A-Z][a-z]*)*\Z", ["John", "John Smith", "john", "John  Smith", "A B C", ""]),
    (r"\d", r"[0-9]", ["a1", "abc", "٣", "", "9"]),
    (r"^[^,]*$", r"^[^,]*\Z", ["abc", "a,b", "", ",", "é\n"]),
    (r"^(a|ab)(c|bcd)$", r"^(a|ab)(c|bcd)\Z", ["ac", "abcd", "abc", "abbcd", "a"]),
    (r"\.json$", r"\.json\Z", ["a.json", ".json", "ajson", "a.json\n", "a.jsonx"]),
    (r"^[\w.-]+$", r"^[A-Za-z0-9_.\-]+\Z", ["a.b-c_d", "a b", "", "é", "a/b"]),
    (r"^\s*$", rf"^[{_ECMA_SPACE}]*\Z", ["", "  ", "\t\n", "\u00a0", "\x85", "\ufeff", "a", "\x1c"]),
    (r"😀", r"😀", ["😀", "a😀b", "😁", ""]),
    (r"^[a-z]{2,}\d?$", r"^[a-z]{2,}[0-9]?\Z", ["ab", "abc1", "a1", "abc12", "ab٣"]),
    (r"^(?:[01]\d|2[0-3]):[0-5]\d$", r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]\Z", ["09:30", "23:59", "24:00", "9:30", "12:60"]),
    (r"^[^a-z]", r"^[^a-z]", ["A", "1a", "a", "", "é"]),
    (r"ab+?c", r"ab+?c", ["abc", "abbbc", "ac", "xabcx"]),
]
_PYTHON_PATTERN = {ecma: py for ecma, py, _ in PATTERNS}
_PATTERN_SAMPLES = {ecma: samples for ecma, _, samples in PATTERNS}

# (ECMA pattern, Python equivalent, key samples) for patternProperties / propertyNames
KEY_PATTERNS: list[tuple[str, str, list[str]]] = [
    (r"^x-", r"^x-", ["x-a", "x-", "X-a", "ax-"]),
    (r"^[0-9]+$", r"^[0-9]+\Z", ["12", "1a", "", "٣"]),
    (r"_id$", r"_id\Z", ["user_id", "id", "_id", "_idx"]),
    (r"^[a-z]$", r"^[a-z]\Z", ["q", "Q", "qq", "a"]),
    (r"é", r"é", ["é", "café", "e"]),
    (r"^\w+$", r"^[A-Za-z0-9_]+\Z", ["a_b", "a-b", "ü", "name"]),
]
_PYTHON_PATTERN.update({ecma: py for ecma, py, _ in KEY_PATTERNS})
_KEY_SAMPLES = {ecma: samples for ecma, _, samples in KEY_PATTERNS}

FORMAT_SAMPLES: dict[str, list[str]] = {
    "date": ["2024-02-29", "2023-12-31", "1999-01-01", "2023-02-29", "2024-13-01", "2024-1-01", "20240101",
             "2024-02-30", "2024-04-31", "2000-02-29", "1900-02-29", "٢٠٢٤-01-01"],
    "date-time": ["2024-01-01T12:00:00Z", "2024-01-01t12:00:00z", "2024-01-01T23:59:60Z", "2024-01-01T12:00:00.123+05:30",
                  "2024-01-01 12:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T12:00:00", "2016-12-31T15:59:60-08:00",
                  "2024-02-30T00:00:00Z", "2024-01-01T12:00:00+24:00"],
    "time": ["12:00:00Z", "23:59:60Z", "12:00:00+01:00", "12:00:00", "12:00Z", "25:00:00Z", "12:00:00.5z",
             "15:59:60-08:00", "12:00:00.Z", "00:00:00-00:00"],
    "email": ["a@b.co", "a.b@c-d.org", "a@b", "@b.co", "a@", "ab", "a..b@c.com", "\"a b\"@c.com", "a@[1.2.3.4]",
              "a@[IPv6:::1]", "é@x.com", "a@-b.com", "a b@c.com"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
             "123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
             "{123e4567-e89b-12d3-a456-426614174000}", "00000000-0000-0000-0000-000000000000",
             "123e4567-e89b-12d3-a456-42661417400g"],
    "ipv4": ["1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "0.0.0.0", "1.2.3.4.5", " 1.2.3.4",
             "1.2.3.٤"],
    "ipv6": ["::1", "::", "2001:db8::1", "1::2::3", "::ffff:1.2.3.4", "fe80::1%eth0", "12345::", "1:2:3:4:5:6:7:8",
             "1:2:3:4:5:6:7:8:9", "::1.2.3", "1:2:3:4:5:6:7::", "::ffff:01.2.3.4"],
    "uri": ["https://example.com/a?b=c#d", "urn:isbn:123", "mailto:a@b.c", "http://[::1]:80/", "example.com",
            "http://exa mple.com", "http://a/%zz", "a:", "http://[v1.x]/", "https://é.com", "//x", "1http://a",
            "http://a/b?c#d#e", "http://user@host:8080/p"],
}
FORMATS = sorted(FORMAT_SAMPLES)

NAMES = ["a", "b", "c", "id", "name", "tags", "x-y", "ü", "k 1", "", "a\"b", "user_id", "x-a", "12", "😀"]
"""Property names: a small pool, so required/dependencies/patterns meet declared names."""

CONSTANTS: list[Any] = [
    None, True, False, 0, 1, 1.0, -1, 0.5, 2.5, -0.0, 10**20, 1e-07, 3, 0.07, 0.3, 1.51, "", "a", "A", "é", "😀", "\n", "a\"b",
    "a\\b", "null", "1", [], [1, "a"], [1.0], {}, {"a": 1}, {"a": 1, "b": [2]}, {"b": None, "a": "x"},
]

_STRING_CHARS = st.sampled_from(list("aAbz09 _-.,:@/é€ü😀\"\\\n\t\u2028\u00a0٣Ａ"))
_INTS = [-5, -1, 0, 1, 2, 3, 5, 10, 100]
_DECIMALS = [-2.25, -0.5, 0.01, 0.1, 0.5, 1.5, 2.75, 99.99, 1e-05, -2.5e-07, 1e16, 10**17, -1.5e17]
_STEPS = [1, 2, 3, 5, 10, 0.5, 0.25, 0.1, 0.01, 1.5, 0.2]


def _one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in `n` draws (and not on the draw hypothesis starts from)."""
    return draw(st.integers(0, n - 1)) == n - 1


def _number(draw: st.DrawFn) -> int | float:
    return draw(st.sampled_from(_INTS + _DECIMALS))


# -- schemas --------------------------------------------------------------------------------------


def _range(draw: st.DrawFn, low: str, high: str, most: int) -> dict[str, int]:
    """`low` and/or `high` counts, ordered most of the time."""
    s: dict[str, int] = {}
    lo, hi = draw(st.integers(0, most)), draw(st.integers(0, most))
    if not _one_in(draw, 8):
        lo, hi = min(lo, hi), max(lo, hi)
    if _one_in(draw, 4):
        s[low] = lo
    if _one_in(draw, 4):
        s[high] = hi
    return s


def _string_keywords(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = _range(draw, "minLength", "maxLength", 6)
    choice = draw(st.integers(0, 5))
    if choice <= 1:
        s["pattern"] = draw(st.sampled_from([p for p, _, _ in PATTERNS]))
    elif choice == 2:
        s["format"] = draw(st.sampled_from(FORMATS))
    return s


def _number_keywords(draw: st.DrawFn, integer: bool) -> dict[str, Any]:
    s: dict[str, Any] = {}
    pick = (lambda: draw(st.sampled_from(_INTS)) if integer and draw(st.booleans()) else _number(draw))
    lo, hi = pick(), pick()
    if not _one_in(draw, 8):
        lo, hi = min(lo, hi), max(lo, hi)
    if _one_in(draw, 3):
        s[draw(st.sampled_from(["minimum", "minimum", "exclusiveMinimum"]))] = lo
    if _one_in(draw, 3):
        s[draw(st.sampled_from(["maximum", "maximum", "exclusiveMaximum"]))] = hi
    if _one_in(draw, 16):
        s["exclusiveMinimum" if "minimum" in s else "minimum"] = pick()
    if _one_in(draw, 4):
        s["multipleOf"] = draw(st.sampled_from(_STEPS))
    return s


def _object_keywords(draw: st.DrawFn, depth: int, defs: list[str]) -> dict[str, Any]:
    s: dict[str, Any] = {}
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    if names or draw(st.booleans()):
        s["properties"] = {n: draw(_schema(depth + 1, defs)) for n in names}
    if not _one_in(draw, 3) and (names or _one_in(draw, 5)):
        pool = names + [draw(st.sampled_from(NAMES))]
        s["required"] = draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))
    choice = draw(st.integers(0, 5))
    if choice == 0:
        s["additionalProperties"] = False
    elif choice == 1:
        s["additionalProperties"] = True
    elif choice == 2:
        s["additionalProperties"] = draw(_schema(depth + 1, defs))
    if _one_in(draw, 6):
        keys = draw(st.lists(st.sampled_from([p for p, _, _ in KEY_PATTERNS]), unique=True, min_size=1, max_size=2))
        s["patternProperties"] = {k: draw(_schema(depth + 1, defs)) for k in keys}
    if _one_in(draw, 8):
        s["propertyNames"] = draw(st.one_of(
            st.builds(lambda p: {"pattern": p}, st.sampled_from([p for p, _, _ in KEY_PATTERNS])),
            st.builds(lambda n: {"maxLength": n}, st.integers(0, 4)),
            st.builds(lambda n: {"minLength": n}, st.integers(1, 3)),
            st.builds(lambda v: {"enum": v}, st.lists(st.sampled_from(NAMES), unique=True, min_size=1, max_size=4)),
        ))
    if _one_in(draw, 3):
        s.update(_range(draw, "minProperties", "maxProperties", 3))
    if _one_in(draw, 7):
        pool = names or NAMES[:4]
        s["dependentRequired"] = {draw(st.sampled_from(pool)): draw(st.lists(st.sampled_from(NAMES[:6] + names), unique=True, max_size=2))}
    if _one_in(draw, 8):
        pool = names or NAMES[:4]
        s["dependentSchemas"] = {draw(st.sampled_from(pool)): draw(_schema(depth + 1, defs))}
    return s


def _array_keywords(draw: st.DrawFn, depth: int, defs: list[str]) -> dict[str, Any]:
    s: dict[str, Any] = {}
    if _one_in(draw, 4):
        s["prefixItems"] = draw(st.lists(_schema(depth + 1, defs), min_size=1, max_size=3))
    choice = draw(st.integers(0, 5))
    if choice <= 2:
        s["items"] = draw(_schema(depth + 1, defs))
    elif choice == 3 and "prefixItems" in s:
        s["items"] = False
    if _one_in(draw, 16):
        s["contains"] = draw(_schema(depth + 1, defs))
        if draw(st.booleans()):
            s["minContains"] = draw(st.integers(0, 2))
        if draw(st.booleans()):
            s["maxContains"] = draw(st.integers(1, 3))
    s.update(_range(draw, "minItems", "maxItems", 4))
    if _one_in(draw, 10):
        s["uniqueItems"] = draw(st.booleans())
    return s


_TYPES = ["null", "boolean", "integer", "number", "string", "array", "object"]


def _typed(draw: st.DrawFn, types: list[str], depth: int, defs: list[str]) -> dict[str, Any]:
    s: dict[str, Any] = {"type": types[0] if len(types) == 1 and not _one_in(draw, 5) else types}
    for t in types:
        if t == "string":
            s.update(_string_keywords(draw))
        elif t in ("integer", "number"):
            s.update(_number_keywords(draw, t == "integer"))
        elif t == "object" and depth < MAX_DEPTH:
            s.update(_object_keywords(draw, depth, defs))
        elif t == "array" and depth < MAX_DEPTH:
            s.update(_array_keywords(draw, depth, defs))
    return s


def _condition(draw: st.DrawFn, depth: int, defs: list[str]) -> dict[str, Any]:
    """An `if` schema of the kinds tool schemas use."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        name = draw(st.sampled_from(NAMES[:5]))
        return {"properties": {name: {"const": draw(st.sampled_from(["a", "b", 1, True]))}}, "required": [name]}
    if kind == 1:
        return {"type": draw(st.sampled_from(_TYPES))}
    if kind == 2:
        return {"minimum": draw(st.sampled_from(_INTS))}
    return draw(_schema(depth + 1, defs))


@st.composite
def _schema(draw: st.DrawFn, depth: int, defs: list[str]) -> Any:
    """One subschema at `depth`; `defs` are the `$defs` names a `$ref` may name."""
    leaf = depth >= MAX_DEPTH
    kinds = ["scalar", "scalar", "nullable", "typelist", "enum", "const", "bool"]
    if depth >= 2:
        kinds += ["scalar", "scalar", "scalar", "nullable"]
    if not leaf:
        kinds += ["object", "object", "object", "array", "array", "allOf", "anyOf", "oneOf", "not", "if"]
    if defs:
        kinds += ["ref", "ref"]
    kind = draw(st.sampled_from(kinds))
    if kind == "scalar":
        return _typed(draw, [draw(st.sampled_from(["string", "string", "integer", "number", "boolean", "null"]))], depth, defs)
    if kind == "nullable":
        t = draw(st.sampled_from(["string", "integer", "number", "boolean"] + ([] if leaf else ["object", "array"])))
        s = _typed(draw, [t], depth, defs)
        s["type"] = [t, "null"] if draw(st.booleans()) else ["null", t]
        return s
    if kind == "typelist":
        pool = ["string", "integer", "number", "boolean", "null"] + ([] if leaf else ["object", "array"])
        return _typed(draw, draw(st.lists(st.sampled_from(pool), unique=True, min_size=2, max_size=3)), depth, defs)
    if kind == "enum":
        s = {"enum": draw(st.lists(st.sampled_from(CONSTANTS), min_size=1, max_size=5))}
        if _one_in(draw, 4):
            s.update(_typed(draw, [draw(st.sampled_from(["string", "integer", "number"]))], depth, defs))
        return s
    if kind == "const":
        return {"const": draw(st.sampled_from(CONSTANTS))}
    if kind == "bool":
        return draw(st.sampled_from([True, {}, False, True]))
    if kind == "object":
        return _typed(draw, ["object"], depth, defs)
    if kind == "array":
        return _typed(draw, ["array"], depth, defs)
    if kind in ("allOf", "anyOf", "oneOf"):
        base: dict[str, Any] = {}
        if _one_in(draw, 3):
            base = _typed(draw, [draw(st.sampled_from(["object", "string", "integer", "number"]))], depth + 1, defs)
        base[kind] = draw(st.lists(_schema(depth + 1, defs), min_size=1, max_size=3))
        return base
    if kind == "not":
        base = {}
        if draw(st.booleans()):
            base = _typed(draw, [draw(st.sampled_from(["string", "integer", "number", "object", "array"]))], depth + 1, defs)
        base["not"] = draw(st.one_of(
            _schema(depth + 1, defs),
            st.builds(lambda v: {"const": v}, st.sampled_from(CONSTANTS)),
            st.builds(lambda v: {"enum": v}, st.lists(st.sampled_from(CONSTANTS), min_size=1, max_size=3)),
            st.builds(lambda t: {"type": t}, st.sampled_from(_TYPES)),
        ))
        return base
    if kind == "if":
        base = {}
        if draw(st.booleans()):
            base = _typed(draw, [draw(st.sampled_from(["object", "string", "integer"]))], depth + 1, defs)
        base["if"] = _condition(draw, depth, defs)
        if not _one_in(draw, 4):
            base["then"] = draw(_schema(depth + 1, defs))
        if not _one_in(draw, 4):
            base["else"] = draw(_schema(depth + 1, defs))
        return base
    # ref
    ref = {"$ref": f"#/$defs/{draw(st.sampled_from(defs))}"}
    if _one_in(draw, 6):
        ref.update(draw(st.sampled_from([{"type": "object"}, {"minProperties": 1}, {"maxLength": 3}, {"description": "x"}])))
    return ref


def _recursive_def(draw: st.DrawFn, name: str, defs: list[str]) -> Any:
    """A recursive definition with a base case (trees, linked lists, expressions)."""
    ref = {"$ref": f"#/$defs/{name}"}
    leaf = draw(_schema(MAX_DEPTH, []))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return {"type": "object", "properties": {"value": leaf, "children": {"type": "array", "items": ref,
                                                                           **draw(st.sampled_from([{}, {"maxItems": 2}]))}},
                "required": draw(st.sampled_from([["value"], [], ["value", "children"]])),
                **draw(st.sampled_from([{}, {"additionalProperties": False}]))}
    if kind == 1:
        return {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"head": leaf, "tail": ref},
                                             "required": ["head", "tail"]}]}
    if kind == 2:
        return {"type": ["string", "number", "array"], "items": ref, **draw(st.sampled_from([{}, {"maxItems": 3}]))}
    if kind == 3:
        return {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"op": {"enum": ["and", "or"]},
                                                                             "args": {"type": "array", "items": ref, "minItems": 1}},
                                            "required": ["op", "args"], "additionalProperties": False}]}
    return {"type": "object", "properties": {"next": ref, "v": leaf}, "additionalProperties": False}


@st.composite
def random_schemas(draw: st.DrawFn) -> Any:
    """A small, varied draft 2020-12 schema (object at the root more often than not)."""
    names = draw(st.lists(st.sampled_from(["node", "item", "Pos", "list"]), unique=True, max_size=2))
    if names and _one_in(draw, 16):
        names[0] = draw(st.sampled_from(["a b", "ü", "a/b", "x~y"]))  # refs percent- and ~-escaped
    defs: dict[str, Any] = {}
    for name in names:
        if draw(st.booleans()):
            defs[name] = _recursive_def(draw, name, names)
        else:
            defs[name] = draw(_schema(2, names))
    if not _one_in(draw, 3):
        root = _typed(draw, ["object"], 0, names)
    else:
        root = draw(_schema(0, names))
        if not isinstance(root, dict):
            return root
    if _one_in(draw, 10) and "properties" in root:
        root["properties"]["self"] = {"$ref": "#"}
    if defs:
        root["$defs"] = defs
        root = _fix_refs(root)
    return root


def _fix_refs(schema: Any) -> Any:
    """`$ref`s with their definition names escaped as a JSON pointer in a URI fragment wants them."""
    if isinstance(schema, dict):
        out = {}
        for k, v in schema.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                name = v[len("#/$defs/"):]
                v = "#/$defs/" + _uri_fragment(name)
            out[k] = _fix_refs(v) if k not in ("enum", "const") else v
        return out
    if isinstance(schema, list):
        return [_fix_refs(v) for v in schema]
    return schema


def _uri_fragment(name: str) -> str:
    from urllib.parse import quote
    return quote(name.replace("~", "~0").replace("/", "~1"), safe="~!$&'()*+,;=:@")


# -- instances ------------------------------------------------------------------------------------


def _resolve(root: Any, ref: str) -> Any:
    from urllib.parse import unquote
    node = root
    for step in filter(None, unquote(ref[1:]).split("/")):
        step = step.replace("~1", "/").replace("~0", "~")
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def _merge(a: Any, b: Any) -> Any:
    """A rough conjunction of two schemas for aiming instances (not exact; just a good guess)."""
    if not isinstance(a, dict):
        return b if a is True else a
    if not isinstance(b, dict):
        return a if b is True else b
    out = dict(a)
    for k, v in b.items():
        if k == "properties" and isinstance(out.get(k), dict):
            out[k] = {**out[k], **{n: _merge(out[k].get(n, True), s) for n, s in v.items()}}
        elif k == "required" and isinstance(out.get(k), list):
            out[k] = list(dict.fromkeys(out[k] + v))
        elif k == "type" and k in out:
            ta = out[k] if isinstance(out[k], list) else [out[k]]
            tb = v if isinstance(v, list) else [v]
            both = [t for t in ta if t in tb or (t == "integer" and "number" in tb)] + \
                   [t for t in tb if t == "integer" and "number" in ta and t not in ta]
            out[k] = both or ta
        elif k not in out:
            out[k] = v
    return out


class _Gen:
    def __init__(self, draw: st.DrawFn, root: Any) -> None:
        self.draw, self.root = draw, root

    def value(self, s: Any, depth: int = 0) -> Any:
        draw = self.draw
        if depth > 8 or s is True or s is False or not isinstance(s, dict) or not s:
            return draw(JSON_VALUES) if depth <= 8 else None
        if "$ref" in s:
            try:
                target = _resolve(self.root, s["$ref"])
            except (KeyError, IndexError, ValueError):
                return draw(JSON_VALUES)
            rest = {k: v for k, v in s.items() if k != "$ref"}
            return self.value(_merge(rest, target) if rest else target, depth + 1)
        if "const" in s and not _one_in(draw, 6):
            return copy.deepcopy(s["const"])
        if "enum" in s and isinstance(s["enum"], list) and s["enum"] and not _one_in(draw, 6):
            return copy.deepcopy(draw(st.sampled_from(s["enum"])))
        if "allOf" in s:
            merged = {k: v for k, v in s.items() if k != "allOf"}
            for part in s["allOf"]:
                merged = _merge(merged, part)
            return self.value(merged, depth + 1)
        for keyword in ("anyOf", "oneOf"):
            if keyword in s and s[keyword]:
                rest = {k: v for k, v in s.items() if k != keyword}
                return self.value(_merge(rest, draw(st.sampled_from(s[keyword]))), depth + 1)
        if "if" in s:
            rest = {k: v for k, v in s.items() if k not in ("if", "then", "else")}
            if draw(st.booleans()):
                return self.value(_merge(_merge(rest, s["if"]), s.get("then", True)), depth + 1)
            return self.value(_merge(rest, s.get("else", True)), depth + 1)
        types = s.get("type")
        if isinstance(types, str):
            types = [types]
        if not types:
            types = [t for t, keys in _KEYWORD_TYPES.items() if keys & s.keys()] or _TYPES
        t = draw(st.sampled_from(types))
        if t == "null":
            return None
        if t == "boolean":
            return draw(st.booleans())
        if t in ("integer", "number"):
            return self.number(s, t == "integer")
        if t == "string":
            return self.string(s)
        if t == "array":
            return self.array(s, depth)
        return self.object(s, depth)

    def number(self, s: dict, integer: bool) -> int | float:
        draw = self.draw
        bounds = [Fraction(Decimal(repr(s[k]))) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
                  if isinstance(s.get(k), (int, float)) and not isinstance(s.get(k), bool)]
        points = bounds if bounds and not _one_in(draw, 4) else [Fraction(0), Fraction(1), Fraction(-7)]
        step = Fraction(Decimal(repr(s["multipleOf"]))) if isinstance(s.get("multipleOf"), (int, float)) else None
        base = draw(st.sampled_from(points))
        if step and not _one_in(draw, 3):
            base = step * math.ceil(base / step) + step * draw(st.integers(-1, 2))
        else:
            tiny = Fraction(1, 10 ** draw(st.sampled_from([1, 2, 3, 9])))
            if base and abs(base) < Fraction(1, 1000) or abs(base) > 10**15:
                tiny = abs(base) / 10 ** draw(st.sampled_from([0, 1, 3]))
            base += draw(st.sampled_from([0, 0, 1, -1, Fraction(1, 2), Fraction(-1, 2), tiny, -tiny]))
        if integer or base.denominator == 1:
            n = math.floor(base) if not _one_in(draw, 5) else base
            if isinstance(n, int) and _one_in(draw, 10):
                return float(n)  # 1.0 for an integer
            if isinstance(n, int):
                return n
            base = n
        return float(Decimal(base.numerator) / Decimal(base.denominator))

    def string(self, s: dict) -> str:
        draw = self.draw
        if isinstance(s.get("format"), str) and s["format"] in FORMAT_SAMPLES and not _one_in(draw, 6):
            return draw(st.sampled_from(FORMAT_SAMPLES[s["format"]]))
        if isinstance(s.get("pattern"), str) and not _one_in(draw, 6):
            samples = _PATTERN_SAMPLES.get(s["pattern"]) or _KEY_SAMPLES.get(s["pattern"]) or [""]
            return draw(st.sampled_from(samples))
        lo = s.get("minLength", 0)
        hi = s.get("maxLength", lo + 4)
        n = draw(st.sampled_from([lo, hi, (lo + hi) // 2, (lo + hi) // 2, max(lo - 1, 0), hi + 1]))
        return "".join(draw(st.lists(_STRING_CHARS, min_size=max(n, 0), max_size=max(n, 0))))

    def array(self, s: dict, depth: int) -> list:
        draw = self.draw
        prefix = s.get("prefixItems", []) if isinstance(s.get("prefixItems"), list) else []
        lo = s.get("minItems", 0)
        hi = s.get("maxItems", max(lo, len(prefix)) + 2)
        n = draw(st.sampled_from([lo, hi, min(lo + 1, hi), (lo + hi) // 2, len(prefix), max(lo - 1, 0), hi + 1]))
        n = min(max(n, 0), 5)
        items = s.get("items", True)
        out = []
        for i in range(n):
            out.append(self.value(prefix[i] if i < len(prefix) else items, depth + 1))
        if "contains" in s and draw(st.booleans()):
            out.insert(draw(st.integers(0, len(out))), self.value(s["contains"], depth + 1))
        if s.get("uniqueItems") is True and draw(st.booleans()) and out:
            out.append(copy.deepcopy(out[0]))
        return out

    def object(self, s: dict, depth: int) -> dict:
        draw = self.draw
        props = s.get("properties", {}) if isinstance(s.get("properties"), dict) else {}
        required = [r for r in s.get("required", []) if isinstance(r, str)]
        names = [n for n in props if n in required or not _one_in(draw, 3)]
        names += [r for r in required if r not in names and not _one_in(draw, 8)]
        if _one_in(draw, 16) and names:
            names.remove(draw(st.sampled_from(names)))  # a required key may go missing
        out: dict[str, Any] = {}
        for n in names:
            out[n] = self.value(props.get(n, s.get("additionalProperties", True)), depth + 1)
        patterns = s.get("patternProperties", {}) if isinstance(s.get("patternProperties"), dict) else {}
        if patterns and not _one_in(draw, 3):
            p = draw(st.sampled_from(sorted(patterns)))
            key = draw(st.sampled_from(_KEY_SAMPLES.get(p, ["k"])))
            out.setdefault(key, self.value(patterns[p], depth + 1))
        if _one_in(draw, 7):
            key = draw(st.sampled_from(NAMES + ["zz", "extra"]))
            out.setdefault(key, self.value(s.get("additionalProperties", True), depth + 1))
        deps = s.get("dependentRequired", {}) if isinstance(s.get("dependentRequired"), dict) else {}
        for key, needed in deps.items():
            if key in out and not _one_in(draw, 4):
                for n in needed:
                    out.setdefault(n, self.value(props.get(n, True), depth + 1))
        schemas = s.get("dependentSchemas", {}) if isinstance(s.get("dependentSchemas"), dict) else {}
        for key, dep in schemas.items():
            if key in out and isinstance(dep, dict) and not _one_in(draw, 4):
                extra = self.value(_merge({"type": "object"}, dep), depth + 1)
                if isinstance(extra, dict):
                    for k, v in extra.items():
                        out.setdefault(k, v)
        return out


_KEYWORD_TYPES = {
    "string": {"minLength", "maxLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "array": {"items", "prefixItems", "contains", "minItems", "maxItems", "uniqueItems"},
    "object": {"properties", "required", "additionalProperties", "patternProperties", "propertyNames",
               "minProperties", "maxProperties", "dependentRequired", "dependentSchemas"},
}


def _ref_loop(schema: Any) -> bool:
    """Some `$ref` leads, through `$ref`s only, back to itself (`schema_oracle` would follow it forever)."""
    for sub in suite.subschemas(schema):
        seen: set[int] = set()
        node = sub
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            if id(node) in seen:
                return True
            seen.add(id(node))
            try:
                node = _resolve(schema, node["$ref"])
            except (KeyError, IndexError, ValueError, TypeError):
                break
    return False


def _in_schema_order(data: Any, schema: Any) -> Any:
    """`schema_fuzz._in_schema_order`, but leaving `data` as it is where `$ref`s loop."""
    if _ref_loop(schema):
        return data
    try:
        return schema_fuzz._in_schema_order(data, schema)
    except RecursionError:  # `schema_oracle` follows `$ref`s inside `anyOf` that lead back to it
        return data


@st.composite
def instances_for(draw: st.DrawFn, schema: Any) -> Any:
    """A JSON value aimed at `schema`, keys in schema order: mostly near-valid, sometimes broken
    in one more place."""
    value = _Gen(draw, schema).value(schema)
    if _one_in(draw, 6):
        names = sorted({n for sub in suite.subschemas(schema) if isinstance(sub.get("properties"), dict)
                        for n in sub["properties"]})
        value = draw(schema_fuzz.mutated_value(value, names))
    return _in_schema_order(value, schema)


@st.composite
def cases(draw: st.DrawFn, most: int = 5) -> tuple[Any, list[Any]]:
    """(schema, a few instances aimed at it)."""
    schema = draw(random_schemas())
    return schema, draw(st.lists(instances_for(schema), min_size=1, max_size=most))


# -- the oracle with JSON Schema's own reading of patterns and numbers -----------------------------


def _exact(x: int | float) -> Fraction:
    """The number as its JSON text (`json.dumps`) says, exactly."""
    return Fraction(x) if isinstance(x, int) else Fraction(Decimal(repr(x)))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _pattern_found(pattern: str, text: str) -> bool:
    return re.search(_PYTHON_PATTERN.get(pattern, pattern), text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if isinstance(instance, str) and not _pattern_found(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict, instance: Any, schema: Any) -> Any:
    if not isinstance(instance, dict):
        return
    for pattern, subschema in patterns.items():
        for k, v in instance.items():
            if _pattern_found(pattern, k):
                yield from validator.descend(v, subschema, path=k, schema_path=pattern)


def _additional_properties(validator: Any, aP: Any, instance: Any, schema: Any) -> Any:
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = [k for k in instance if k not in properties and not any(_pattern_found(p, k) for p in patterns)]
    if isinstance(aP, dict) or aP is True:
        for k in extras:
            yield from validator.descend(instance[k], aP, path=k)
    elif not aP and extras:
        yield jsonschema.ValidationError(f"additional properties {extras!r}")


def _bound(check: Any) -> Any:
    def keyword(validator: Any, bound: Any, instance: Any, schema: Any) -> Any:
        if _is_number(instance) and _is_number(bound) and not check(_exact(instance), _exact(bound)):
            yield jsonschema.ValidationError(f"{instance!r} out of bound {bound!r}")
    return keyword


def _multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Any:
    if _is_number(instance) and _is_number(step) and (_exact(instance) / _exact(step)).denominator != 1:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {step!r}")


def _utc_minute(hour: str, minute: str, offset: str) -> int:
    shift = 0 if offset in "zZ" else (1 if offset[0] == "+" else -1) * (int(offset[1:3]) * 60 + int(offset[4:6]))
    return (int(hour) * 60 + int(minute) - shift) % 1440


_LEAP = re.compile(r"(?P<head>.*?)(?P<h>[0-9][0-9]):(?P<m>[0-9][0-9]):60(?P<frac>\.[0-9]+)?(?P<off>[zZ]|[+-][0-9][0-9]:[0-9][0-9])")


def _with_leap_seconds(check: Any) -> Any:
    """A time/date-time check that also takes RFC 3339 leap seconds (23:59:60 UTC at any offset, as
    the JSON-Schema-Test-Suite has them); `rfc3339_validator` refuses every second 60."""
    def checked(instance: object) -> bool:
        if isinstance(instance, str) and (m := _LEAP.fullmatch(instance)) is not None:
            if _utc_minute(m["h"], m["m"], m["off"]) != 23 * 60 + 59:
                return False
            instance = f"{m['head']}{m['h']}:{m['m']}:59{m['frac'] or ''}{m['off']}"
        return bool(check(instance))
    return checked


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checkers = dict(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
for _name in ("time", "date-time"):
    _check, _raises = _FORMATS.checkers[_name]
    _FORMATS.checks(_name, raises=_raises)(_with_leap_seconds(_check))

_EXACT = jsonschema.validators.extend(jsonschema.Draft202012Validator, {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "minimum": _bound(lambda x, b: x >= b),
    "maximum": _bound(lambda x, b: x <= b),
    "exclusiveMinimum": _bound(lambda x, b: x > b),
    "exclusiveMaximum": _bound(lambda x, b: x < b),
    "multipleOf": _multiple_of,
})


def plain_valid(schema: Any, data: Any) -> bool:
    """jsonschema's verdict as `schema_fuzz.Engine.check` reads it (formats asserted)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(data)


def exact_valid(schema: Any, data: Any) -> bool:
    """jsonschema with ECMA-262 patterns, exact decimal numbers and leap seconds (formats asserted)."""
    return _EXACT(schema, format_checker=_FORMATS).is_valid(data)


# -- one schema, end to end ----------------------------------------------------------------------


@dataclass
class Finding:
    kind: str
    """invalid accepted, valid rejected, mask/advance disagree, untyped exception, too slow,
    slow compile, oracle error"""
    schema: Any
    data: Any
    detail: str

    def __str__(self) -> str:
        data = "" if self.data is _NO_DATA else f"\ninstance: {json.dumps(self.data, ensure_ascii=False)}"
        return f"[{self.kind}] {self.detail}\nschema: {json.dumps(self.schema, ensure_ascii=False)}{data}"


_NO_DATA = object()

REFUSALS: dict[str, tuple[Any, str]] = {}
"""Refusal reason -> (smallest schema refused for it so far, the message)."""


def compile_timed(engine: schema_fuzz.Engine, schema: Any) -> tuple[Any | None, list[Finding]]:
    """Compile `schema` into `engine`'s cache (once), timed; (grammar or None, findings)."""
    from a3agent.errors import A3AgentError, GrammarError

    key = json.dumps(schema, sort_keys=True)
    if key in engine.grammars:
        return engine.grammars[key], []
    findings = []
    grammar = None
    start = time.perf_counter()
    try:
        with suite.time_limit(schema_fuzz.COMPILE_SECONDS):
            grammar = engine.compile(schema)
    except GrammarError as e:
        reason = f"refused: {getattr(e, 'keyword', type(e).__name__)}"
        if type(e).__name__ == "UnsatisfiableSchema":
            _UNSATISFIABLE.add(key)
        engine.counts[reason] += 1
        example = REFUSALS.get(reason)
        if example is None or len(key) < len(json.dumps(example[0], sort_keys=True)):
            REFUSALS[reason] = (schema, f"{type(e).__name__}: {e}")
    except suite.TooSlow as e:
        findings.append(Finding("too slow", schema, _NO_DATA, f"compile ran {e}"))
    except A3AgentError as e:
        engine.counts[f"refused (not a GrammarError): {type(e).__name__}"] += 1
    except Exception as e:  # noqa: BLE001 - the point is to catch what the compiler should not raise
        findings.append(Finding("untyped exception", schema, _NO_DATA,
                                f"compile raised {type(e).__name__}: {e}\n{_where(e)}"))
    seconds = time.perf_counter() - start
    if seconds > SLOW_COMPILE_SECONDS and not findings:
        findings.append(Finding("slow compile", schema, _NO_DATA, f"compile took {seconds:.2f} s"))
    if grammar is not None:
        engine.counts["compiled"] += 1
    engine.grammars[key] = grammar
    return grammar, findings


def _refused_as_unsatisfiable(engine: schema_fuzz.Engine, schema: Any) -> bool:
    return json.dumps(schema, sort_keys=True) in _UNSATISFIABLE


_UNSATISFIABLE: set[str] = set()
"""Schemas (as keys of `Engine.grammars`) the compiler called unsatisfiable."""


def _where(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames[-4:]))


def check(engine: schema_fuzz.Engine, schema: Any, data: Any) -> str:
    """`engine.check`, judged by `exact_valid` where jsonschema's Python reading differs from it.

    Raises AssertionError on a wrong verdict the contract does not allow.
    """
    exact = exact_valid(schema, data)
    if exact == plain_valid(schema, data):
        return engine.check(schema, data)
    engine.counts["oracle quirk (re dialect or float arithmetic)"] += 1
    return engine.check(schema, data, valid=exact)


def run_case(engine: schema_fuzz.Engine, schema: Any, instances: list[Any]) -> list[Finding]:
    """Compile `schema`, check every instance in both spellings; the findings."""
    grammar, findings = compile_timed(engine, schema)
    if grammar is None:
        if _refused_as_unsatisfiable(engine, schema):
            for data in instances:
                try:
                    valid = exact_valid(schema, data)
                except (RecursionError, jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable):
                    continue
                if valid:
                    findings.append(Finding("unsatisfiable yet a valid instance", schema, data,
                                            "compile raised UnsatisfiableSchema"))
        return findings
    for data in instances:
        try:
            verdict = check(engine, schema, data)
            compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            if compact != json.dumps(data, ensure_ascii=False):
                with suite.time_limit(schema_fuzz.COMPILE_SECONDS):
                    accepted = suite.accepts(grammar.matcher(), engine.encode(compact))
                if accepted != (verdict == "valid accepted"):
                    findings.append(Finding("separators differ", schema, data,
                                            f"`{compact}` accepted={accepted}, default spelling gave {verdict!r}"))
        except AssertionError as e:
            message = str(e)
            kind = ("mask/advance disagree" if message.startswith("token ") else message.split("\n")[0])
            findings.append(Finding(kind, schema, data, message.split("\n")[0]))
        except suite.TooSlow as e:
            findings.append(Finding("too slow", schema, data, f"matching ran {e}"))
        except (RecursionError, jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable) as e:
            engine.counts[f"oracle error ({type(e).__name__})"] += 1
        except Exception as e:  # noqa: BLE001
            findings.append(Finding("untyped exception", schema, data,
                                    f"check raised {type(e).__name__}: {e}\n{_where(e)}"))
    return findings


# -- shrinking a finding to a small repro ----------------------------------------------------------


def _variants(value: Any) -> Any:
    """Smaller copies of a JSON value: one member or item dropped, or one container replaced by
    one of its members, anywhere inside."""
    if isinstance(value, dict):
        for k in list(value):
            yield {kk: vv for kk, vv in value.items() if kk != k}
        for k, v in value.items():
            if isinstance(v, (dict, list)) and k not in ("enum", "const", "required"):
                if isinstance(v, dict):
                    yield from (x for x in v.values() if isinstance(x, (dict, bool)))
                else:
                    yield from (x for x in v if isinstance(x, dict))
            for smaller in _variants(v):
                yield {**value, k: smaller}
    elif isinstance(value, list):
        for i in range(len(value)):
            yield value[:i] + value[i + 1:]
        for i, v in enumerate(value):
            for smaller in _variants(v):
                yield value[:i] + [smaller] + value[i + 1:]
    elif isinstance(value, str) and value:
        yield value[:-1]
        yield value[1:]
    elif isinstance(value, float) and value != int(value) and len(repr(value)) > 4:
        yield float(repr(value)[:-1]) if repr(value)[-2] != "e" else value


def _descents(schema: Any, data: Any) -> Any:
    """(a property's or item's schema, that member of the instance): a repro one level down."""
    if not isinstance(schema, dict):
        return
    if isinstance(data, dict) and isinstance(schema.get("properties"), dict):
        for k, sub in schema["properties"].items():
            if k in data:
                yield _with_defs(sub, schema), data[k]
    if isinstance(data, list) and data:
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        for i, v in enumerate(data):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict):
                yield _with_defs(sub, schema), v
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, []) if isinstance(schema.get(keyword), list) else []:
            yield _with_defs(sub, schema), data


def _with_defs(sub: Any, root: dict) -> Any:
    """`sub` carrying the root's `$defs` (so its `$ref`s still resolve)."""
    if isinstance(sub, dict) and "$defs" in root and "$defs" not in sub:
        return {**sub, "$defs": root["$defs"]}
    return sub


def minimise(engine: schema_fuzz.Engine, finding: Finding, seconds: float = 60.0) -> Finding:
    """A smaller (schema, instance) showing a finding of the same kind (greedy, within `seconds`)."""
    from a3agent.errors import A3AgentError

    end = time.monotonic() + seconds
    kind = finding.kind

    def reproduces(schema: Any, data: Any) -> Finding | None:
        if data is not _NO_DATA:
            data = _in_schema_order(data, schema)
        try:
            found = run_case(engine, schema, [] if data is _NO_DATA else [data])
        except (A3AgentError, RecursionError):
            return None
        return next((f for f in found if f.kind == kind), None)

    best = finding
    improved = True
    while improved and time.monotonic() < end:
        improved = False
        for schema, data in _descents(best.schema, best.data):
            found = reproduces(schema, data)
            if found is not None:
                best, improved = found, True
                break
        if improved:
            continue
        for part in ("schema", "data"):
            if part == "data" and best.data is _NO_DATA:
                continue
            for smaller in _variants(best.schema if part == "schema" else best.data):
                if time.monotonic() > end:
                    break
                if smaller == (best.schema if part == "schema" else best.data):
                    continue
                found = reproduces(smaller, best.data) if part == "schema" else reproduces(best.schema, smaller)
                if found is not None:
                    best, improved = found, True
                    break
            if improved:
                break
    return best
