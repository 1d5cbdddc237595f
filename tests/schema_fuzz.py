"""Differential fuzzing of the schema compiler against `jsonschema`, through the token-mask engine.

Hypothesis draws a MaskBench schema, maybe mutates it (drops or changes one constraint of one
subschema), takes one of its test instances and mutates that (adds, drops or replaces keys, items
and values), then puts the keys in schema order. The engine, fed `json.dumps(instance)` token by
token, must accept every instance jsonschema (formats asserted) calls valid and reject every one it
calls invalid. Valid instances the engine is allowed to reject by contract are not held against it:
those `json_schema_suite.REASONS` explain (key order, `1.0` as an integer) and strings under a
`format` (jsonschema's email check is looser than RFC 5321).

Used by `test_schema_fuzz.py` (a bounded sample) and `benchmarks/schema_fuzz.py` (a long run).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import referencing.exceptions
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import json_schema_suite as suite  # noqa: E402
from schema_oracle import MASKBENCH, in_schema_order  # noqa: E402

COMPILE_SECONDS = 30

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                     st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=12))
JSON_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)


def load_cases(every: int = 1) -> list[tuple[str, Any, list[Any]]]:
    """(name, schema, instances) of every `every`-th MaskBench file, sorted by name."""
    cases = []
    for path in sorted(MASKBENCH.glob("*.json"))[::every]:
        spec = json.loads(path.read_text(encoding="utf-8"))
        cases.append((path.stem, spec["schema"], [t["data"] for t in spec["tests"]]))
    return cases


# -- mutations ------------------------------------------------------------------------------------


def _property_names(schema: Any) -> list[str]:
    return sorted({name for sub in suite.subschemas(schema) if isinstance(sub.get("properties"), dict)
                   for name in sub["properties"]})


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
           "minItems", "maxItems", "minProperties", "maxProperties", "multipleOf")


@st.composite
def mutated_schema(draw: st.DrawFn, schema: Any) -> Any:
    """The schema, or a copy with one constraint of one subschema dropped, tightened or loosened."""
    if not draw(st.booleans()):
        return schema
    schema = copy.deepcopy(schema)
    subs = [s for s in suite.subschemas(schema) if s]
    if not subs:
        return schema
    sub = draw(st.sampled_from(subs))
    kind = draw(st.sampled_from(["drop", "bound", "closed", "required", "type"]))
    numeric = [k for k in _BOUNDS if isinstance(sub.get(k), (int, float)) and not isinstance(sub.get(k), bool)]
    if kind == "drop":
        sub.pop(draw(st.sampled_from(sorted(sub))))
    elif kind == "bound" and numeric:
        key = draw(st.sampled_from(numeric))
        changed = sub[key] + draw(st.sampled_from([-2, -1, 1, 2]))
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") or changed > 0:
            sub[key] = changed
    elif kind == "closed" and isinstance(sub.get("properties"), dict):
        sub["additionalProperties"] = not sub.get("additionalProperties", True)
    elif kind == "required" and isinstance(sub.get("properties"), dict) and sub["properties"]:
        required = sub.setdefault("required", [])
        name = draw(st.sampled_from(sorted(sub["properties"])))
        if isinstance(required, list) and name not in required:
            required.append(name)
    elif kind == "type" and isinstance(sub.get("type"), str):
        sub["type"] = draw(st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"]))
    return schema


@st.composite
def mutated_value(draw: st.DrawFn, value: Any, names: list[str], depth: int = 0) -> Any:
    """`value` with a few random edits somewhere inside it."""
    if depth > 3 or draw(st.integers(0, 4)) == 0:
        return draw(JSON_VALUES) if draw(st.integers(0, 3)) == 0 else value
    if isinstance(value, dict):
        value = dict(value)
        edit = draw(st.sampled_from(["add", "drop", "inner"]))
        if edit == "add":
            key = draw(st.sampled_from(names)) if names and draw(st.booleans()) else draw(st.text(max_size=5))
            value[key] = draw(JSON_VALUES)
        elif edit == "drop" and value:
            value.pop(draw(st.sampled_from(sorted(value))))
        elif value:
            key = draw(st.sampled_from(sorted(value)))
            value[key] = draw(mutated_value(value[key], names, depth + 1))
        return value
    if isinstance(value, list):
        value = list(value)
        edit = draw(st.sampled_from(["append", "drop", "inner"]))
        if edit == "append":
            value.append(draw(JSON_VALUES) if draw(st.booleans()) or not value else copy.deepcopy(value[-1]))
        elif value:
            i = draw(st.integers(0, len(value) - 1))
            if edit == "drop":
                del value[i]
            else:
                value[i] = draw(mutated_value(value[i], names, depth + 1))
        return value
    if isinstance(value, bool) or value is None:
        return draw(_SCALARS)
    if isinstance(value, (int, float)):
        return draw(st.sampled_from([value + 1, value - 1, -value, value * 10, value / 2, int(value), 0]))
    if isinstance(value, str):
        return draw(st.sampled_from([value + "x", value[:-1], "", value * 2, value.upper()]))
    return value


# -- the differential check -----------------------------------------------------------------------


class Engine:
    """Compiled grammars by schema (a schema is compiled once per process), with counts."""

    def __init__(self) -> None:
        self.compile, self.encode = suite.tekken_engine()
        self.grammars: dict[str, Any] = {}
        self.counts: Counter[str] = Counter()

    def grammar(self, schema: Any) -> Any | None:
        """The grammar, or None when the engine refuses the schema."""
        from a3agent.errors import GrammarError

        key = json.dumps(schema, sort_keys=True)
        if key not in self.grammars:
            try:
                with suite.time_limit(COMPILE_SECONDS):
                    self.grammars[key] = self.compile(schema)
            except GrammarError:
                self.grammars[key] = None
        return self.grammars[key]

    def check(self, schema: Any, data: Any, valid: bool | None = None) -> str:
        """Compare the engine with jsonschema (or with `valid`, another oracle's verdict) on one
        instance; returns the kind of agreement.

        Raises AssertionError on a wrong verdict the contract does not allow.
        """
        grammar = self.grammar(schema)
        if grammar is None:
            return self._count("schema refused")
        if valid is None:
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            try:
                valid = cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(data)
            except (jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable, re.error) as e:
                # the oracle's own limits (Python's regex dialect, a $ref it cannot follow): no verdict
                return self._count(f"oracle cannot judge ({type(e).__name__})")
        text = json.dumps(data, ensure_ascii=False)
        with suite.time_limit(COMPILE_SECONDS):
            accepted = suite.accepts(grammar.matcher(), self.encode(text))
        if not valid:
            assert not accepted, f"invalid instance accepted\nschema: {json.dumps(schema)}\ninstance: {text}"
            return self._count("invalid rejected")
        if accepted:
            return self._count("valid accepted")
        excuse = suite.reason_for(schema, data) or ("format" if _uses_format(schema) else None)
        assert excuse is not None, f"valid instance rejected\nschema: {json.dumps(schema)}\ninstance: {text}"
        return self._count(f"valid rejected ({excuse})")

    def _count(self, kind: str) -> str:
        self.counts[kind] += 1
        return kind


def _uses_format(schema: Any) -> bool:
    return any(isinstance(sub.get("format"), str) for sub in suite.subschemas(schema))


def _in_schema_order(data: Any, schema: Any) -> Any:
    """`data` with keys in schema order, or unchanged where the oracle cannot follow a `$ref`."""
    try:
        return in_schema_order(data, schema, schema)
    except (KeyError, IndexError, TypeError, ValueError):
        return data


@st.composite
def examples(draw: st.DrawFn, cases: list[tuple[str, Any, list[Any]]]) -> tuple[str, Any, Any]:
    """(case name, schema, instance in schema order) from one case, mutated."""
    name, schema, instances = draw(st.sampled_from(cases))
    schema = draw(mutated_schema(schema))
    seed = draw(st.sampled_from(instances)) if instances else draw(JSON_VALUES)
    data = draw(mutated_value(seed, _property_names(schema)))
    return name, schema, _in_schema_order(data, schema)
