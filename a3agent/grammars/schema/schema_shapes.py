"""What a JSON Schema admits, as a union of typed shapes, and the algebra on them.

A schema node becomes a tuple of shapes (a union, built by `normalizer`): `Constants` (a finite
list of values), `Numbers`, `Strings`, `Arrays`, `Objects`, `AnyValue`, and `Reference` (a
subschema compiled as its own grammar rule, which is how recursion works). Children (property
values, items) stay unevaluated `Node`s, so recursive schemas take finite time. Conditions on which
keys an object has are `Presence` rules, tracked by the object automaton of `json_schema`.

The functions here combine shapes of one type exactly (merging, subtracting, membership), or
refuse with `UnsupportedSchema` where the result has no shape (`not` of objects by key patterns,
of arrays by their items).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from fractions import Fraction
from typing import Any, Hashable, Iterable

from a3agent.errors import UnsupportedSchema
from a3agent.grammars.engine.limits import charge
from a3agent.grammars.regex.char_regex import Regex
from a3agent.grammars.schema.number_text import Bound
from a3agent.grammars.regex.regular import TooComplex
from a3agent.grammars.schema.string_sets import ANY_STRING, StringSet

__all__ = [
    "Node", "AnyValue", "Constants", "Numbers", "Strings", "Arrays", "ObjectPart", "Presence", "Objects",
    "Reference", "Shape", "EVERY_TYPE", "json_equal", "json_key",
    "json_key", "as_fraction", "is_number", "number_in",
    "number_complement", "without_values", "strings_minus", "arrays_minus", "objects_minus", "merge_arrays",
    "with_presence", "unordered", "tighter_low", "tighter_high", "below", "counts_disjoint", "min_optional",
]


_KEY_BYTES_A_UNIT = 256
"""Bytes of a node's JSON text that count as one unit of compile work (about a microsecond of
`json.dumps`)."""


@dataclass(frozen=True)
class Node:
    """A subschema (dict or bool) with its JSON pointer; equal when the schemas are equal."""

    schema: Any = field(compare=False)
    path: str = field(compare=False)
    key: str = ""

    @staticmethod
    def of(schema: Any, path: str) -> Node:
        """The node, keyed by its JSON text: charged by that text's length, since subtracting or
        intersecting recursive schemas (`{"not": {"$ref": "#"}}` under a property) makes ever
        larger synthetic ones, and the compile budget must see that work to stop it in time."""
        key = json.dumps(schema, sort_keys=True)
        charge(1 + len(key) // _KEY_BYTES_A_UNIT)
        return Node(schema, path, key)

    def child(self, schema: Any, *steps: str | int) -> Node:
        suffix = "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps)
        return Node.of(schema, self.path + suffix)


@dataclass(frozen=True)
class AnyValue:
    """Every JSON value."""


@dataclass(frozen=True)
class Constants:
    """Exactly these values (already checked against the whole schema)."""

    values: tuple = field(compare=False)
    key: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", json.dumps(self.values, sort_keys=True))


@dataclass(frozen=True)
class Numbers:
    """Numbers (or only integers) in bounds, multiples of `step`, multiples of none of `avoid`."""

    integer: bool = False
    lo: Bound | None = None
    hi: Bound | None = None
    step: Fraction | None = None
    avoid: tuple[Fraction, ...] = ()


@dataclass(frozen=True)
class Strings:
    """Strings of a `StringSet`."""

    strings: StringSet = ANY_STRING


@dataclass(frozen=True)
class Arrays:
    """Arrays: item i satisfies every node of `prefix[i]`, later items every node of `rest`.

    `rest=None`: no items beyond the prefix. An empty tuple of nodes: anything.
    """

    prefix: tuple[tuple[Node, ...], ...] = ()
    rest: tuple[Node, ...] | None = ()
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True)
class ObjectPart:
    """The key-to-value rules of one object schema; `additional=None` leaves other keys free."""

    properties: tuple[tuple[str, Node], ...] = ()
    patterns: tuple[tuple[Regex, Node], ...] = ()
    additional: Node | None = None
    ordered: bool = True
    """Whether its property names are slots in schema order (`properties` of the object, its
    `allOf`/`anyOf`/`oneOf` parts, `$ref`); names only a condition, a dependent schema or a
    negation mentions may come anywhere."""

    @cached_property
    def by_name(self) -> dict[str, tuple[Node, ...]]:
        """Property name -> its nodes: one lookup per key, not a scan (10,000 properties)."""
        out: dict[str, tuple[Node, ...]] = {}
        for name, node in self.properties:
            out[name] = out.get(name, ()) + (node,)
        return out

    def nodes_for(self, key: str | None, matches: Iterable[int]) -> tuple[Node, ...]:
        """The nodes a value under `key` must satisfy; `matches`: indexes of matching patterns.

        `key=None` stands for an undeclared key.
        """
        declared = self.by_name.get(key, ()) if key is not None else ()
        patterned = tuple(self.patterns[i][1] for i in matches)
        if declared or patterned:
            return declared + patterned
        return () if self.additional is None else (self.additional,)


@dataclass(frozen=True)
class Presence:
    """A condition on which keys are present: 'one' (exactly one of `sets` is complete), 'any'
    (at least one is), 'if' (when `sets[0]` is present, `sets[1]` is too)."""

    kind: str
    sets: tuple[frozenset[str], ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*self.sets)

    def holds(self, present: frozenset[str]) -> bool:
        complete = [keys <= present for keys in self.sets]
        if self.kind == "one":
            return complete.count(True) == 1
        if self.kind == "any":
            return any(complete)
        return not complete[0] or complete[1]


@dataclass(frozen=True)
class Objects:
    """Objects satisfying every part, with required keys, key set, property counts and presence rules."""

    parts: tuple[ObjectPart, ...] = ()
    required: frozenset[str] = frozenset()
    names: StringSet = ANY_STRING
    min_props: int = 0
    max_props: int | None = None
    presence: tuple[Presence, ...] = ()


@dataclass(frozen=True)
class Reference:
    """The values of another schema node, compiled as its own rule (recursion goes through here)."""

    node: Node


Shape = tuple  # a union of the shapes above; () admits nothing


def json_equal(a: Any, b: Any) -> bool:
    """JSON Schema equality: 1 == 1.0, true != 1, objects regardless of key order."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def json_key(value: Any) -> Hashable:
    """A hashable form equal for two values exactly when `json_equal` says they are equal, so a
    list of values is deduplicated and looked up in linear time."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, (int, float)):
        return ("number", Fraction(value))
    if isinstance(value, list):
        return ("array", tuple(json_key(x) for x in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, json_key(v)) for k, v in value.items()))
    return ("string", value)


def as_fraction(value: Any) -> Fraction:
    """The exact value of a JSON number (floats by their shortest decimal text: 0.1 is 1/10)."""
    return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)


def is_number(value: Any) -> bool:
    """Whether a JSON value is a number (booleans are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def with_presence(base: Shape, rule: Presence, drop_others: bool) -> Shape:
    """Objects get the rule; other values pass every branch, so they stay unless exactly one must.

    `base` must hold no AnyValue or Reference (they hide objects that would escape the rule).
    """
    assert not any(isinstance(s, (AnyValue, Reference)) for s in base)
    return tuple(replace(s, presence=s.presence + (rule,)) if isinstance(s, Objects) else s
                 for s in base if isinstance(s, Objects) or not drop_others)


def unordered(shape: Shape) -> Shape:
    """The same values, with every object property name free to come anywhere (see ObjectPart)."""
    return tuple(replace(s, parts=tuple(replace(p, ordered=False) for p in s.parts)) if isinstance(s, Objects) else s
                 for s in shape)


EVERY_TYPE: Shape = (Constants((None, True, False)), Numbers(), Strings(), Arrays(), Objects())


def min_optional(a: int | None, b: int | None) -> int | None:
    """The smaller bound, None meaning unbounded."""
    return b if a is None else a if b is None else min(a, b)


def tighter_low(a: Bound | None, b: Bound | None) -> Bound | None:
    """The stricter of two lower bounds."""
    if a is None or b is None:
        return a or b
    return max(a, b, key=lambda x: (x[0], x[1]))


def tighter_high(a: Bound | None, b: Bound | None) -> Bound | None:
    """The stricter of two upper bounds."""
    if a is None or b is None:
        return a or b
    return min(a, b, key=lambda x: (x[0], not x[1]))


def below(high: Bound | None, low: Bound | None) -> bool:
    """Whether everything under `high` is under everything above `low`."""
    if high is None or low is None:
        return False
    return high[0] < low[0] or (high[0] == low[0] and (high[1] or low[1]))


def counts_disjoint(a_min: int, a_max: int | None, b_min: int, b_max: int | None) -> bool:
    """Whether two count ranges share no count."""
    return (a_max is not None and a_max < b_min) or (b_max is not None and b_max < a_min)


def number_in(s: Numbers, x: Fraction) -> bool:
    """Whether the value x is in the number shape."""
    if s.integer and x.denominator != 1:
        return False
    if s.lo is not None and (x < s.lo[0] or (x == s.lo[0] and s.lo[1])):
        return False
    if s.hi is not None and (x > s.hi[0] or (x == s.hi[0] and s.hi[1])):
        return False
    if s.step is not None and (x / s.step).denominator != 1:
        return False
    return not any((x / a).denominator == 1 for a in s.avoid)


def number_complement(b: Numbers) -> list[Numbers]:
    """Numbers not in `b`, as a union of Numbers (pieces may overlap)."""
    pieces = []
    if b.integer:
        pieces.append(Numbers(avoid=(Fraction(1),)))
    if b.lo is not None:
        pieces.append(Numbers(hi=(b.lo[0], not b.lo[1])))
    if b.hi is not None:
        pieces.append(Numbers(lo=(b.hi[0], not b.hi[1])))
    if b.step is not None:
        pieces.append(Numbers(avoid=(b.step,)))
    pieces.extend(Numbers(step=a) for a in b.avoid)
    return pieces


def without_values(a: Any, values: tuple, node: Node, keyword: str) -> Shape:
    """The shape minus particular values (numbers split their range around each one)."""
    if isinstance(a, Strings):
        return (Strings(a.strings.without(frozenset(v for v in values if isinstance(v, str)))),)
    if isinstance(a, Numbers):
        out: list = [a]
        for v in values:
            if is_number(v):
                x = as_fraction(v)
                out = [p for n in out for p in ((n,) if not number_in(n, x) else
                       (replace(n, hi=tighter_high(n.hi, (x, True))), replace(n, lo=tighter_low(n.lo, (x, True)))))]
        return tuple(out)
    kind = list if isinstance(a, Arrays) else dict
    if any(isinstance(v, kind) for v in values):
        raise UnsupportedSchema(node.path, keyword, "excluding particular arrays or objects is not supported")
    return (a,)


def strings_minus(a: StringSet, b: StringSet, node: Node, keyword: str) -> StringSet:
    """Strings of `a` outside `b`."""
    if b.only is not None:
        return a.without(frozenset(b.finite() or ()))
    try:
        language = b.language
    except TooComplex as e:
        raise UnsupportedSchema(node.path, keyword, str(e)) from None
    return replace(a, excluded=a.excluded + (language,))


def arrays_minus(a: Arrays, b: Arrays, node: Node, keyword: str) -> Shape:
    """Arrays of `a` failing `b`, which may only bound the length."""
    if b.prefix or b.rest != ():
        raise UnsupportedSchema(node.path, keyword, "excluding arrays by their items is not supported")
    out = []
    if b.min_items > 0:
        out.append(replace(a, max_items=min_optional(a.max_items, b.min_items - 1)))
    if b.max_items is not None:
        out.append(replace(a, min_items=max(a.min_items, b.max_items + 1)))
    return tuple(x for x in out if x.max_items is None or x.max_items >= x.min_items)


def objects_minus(a: Objects, b: Objects, node: Node, keyword: str) -> Shape:
    """Objects of `a` failing `b`: a required key missing, a count out of range, or a declared
    property present with a value `b` rejects (one alternative each)."""
    constrained = (any(p.patterns or p.additional is not None for p in b.parts)
                   or b.names != ANY_STRING or bool(b.presence))
    if constrained:
        raise UnsupportedSchema(node.path, keyword, "excluding objects by key patterns or other keys is not supported")
    out = [replace(a, parts=a.parts + (ObjectPart(((name, Node.of(False, node.path)),), ordered=False),))
           for name in sorted(b.required)]
    for part in b.parts:
        for name, value in part.properties:
            wrong = Node.of({"not": value.schema}, value.path)
            out.append(replace(a, required=a.required | {name},
                               parts=a.parts + (ObjectPart(((name, wrong),), ordered=False),)))
    if b.min_props > 0:
        out.append(replace(a, max_props=min_optional(a.max_props, b.min_props - 1)))
    if b.max_props is not None:
        out.append(replace(a, min_props=max(a.min_props, b.max_props + 1)))
    return tuple(out)


def merge_arrays(a: Arrays, b: Arrays) -> Arrays:
    """Arrays satisfying both shapes, position by position."""
    length = max(len(a.prefix), len(b.prefix))

    def at(x: Arrays, i: int) -> tuple[Node, ...] | None:
        return x.prefix[i] if i < len(x.prefix) else x.rest

    prefix = []
    max_items = min_optional(a.max_items, b.max_items)
    for i in range(length):
        left, right = at(a, i), at(b, i)
        if left is None or right is None:
            max_items = min_optional(max_items, i)
            break
        prefix.append(left + tuple(n for n in right if n not in left))
    rest = None if a.rest is None or b.rest is None else a.rest + tuple(n for n in b.rest if n not in a.rest)
    return Arrays(tuple(prefix), rest, max(a.min_items, b.min_items), max_items)
