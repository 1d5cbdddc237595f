"""JSON Schema nodes to shapes (`schema_shapes`): what each keyword means, exactly or not at all.

`allOf` intersects shapes, `anyOf` unites them, `oneOf` unites branches proven pairwise disjoint,
`not` subtracts, `if`/`then`/`else` is `(if and then) or (else minus if)`. `dependencies`,
`dependentRequired` and `oneOf`/`anyOf` of `required` lists become `Presence` rules;
`dependentSchemas` with other schemas splits the object into "key absent" and "key present and
the schema holds". Whenever a node is confined to finitely many values (`enum`, `const`,
booleans, null), the values are filtered through the reference validator (jsonschema) against
the whole node: exact for any keyword. `dependencies` is enforced whatever the draft.

Refused with `UnsupportedSchema` (path + keyword): what has no exact grammar here (`contains`,
`uniqueItems`, `unevaluated*`, dynamic and remote `$ref`, unknown formats, `oneOf` not provably
disjoint, constraint combinations whose automata grow too large, ...).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any, overload
from urllib.parse import unquote

import jsonschema
import referencing.exceptions

from a3agent.errors import GrammarError, GrammarTooComplex, UnsupportedSchema
from a3agent.grammars.regex.char_regex import Regex
from a3agent.grammars.regex.ecma_regex import PatternError, pattern_language
from a3agent.grammars.schema.formats import format_language
from a3agent.grammars.schema.reference_validator import meta_schema_fault, reference_validator
from a3agent.tools.schema_cycles import find_ref_cycle
from a3agent.grammars.schema.number_text import step_lcm
from a3agent.grammars.engine.limits import charge, check_count, limits
from a3agent.grammars.regex.regular import TooComplex
from a3agent.grammars.schema.schema_shapes import (
    EVERY_TYPE,
    AnyValue,
    Arrays,
    Constants,
    Node,
    Numbers,
    ObjectPart,
    Objects,
    Presence,
    Reference,
    Shape,
    Strings,
    arrays_minus,
    as_fraction,
    below,
    counts_disjoint,
    is_number,
    json_equal,
    json_key,
    merge_arrays,
    min_optional,
    number_complement,
    number_in,
    objects_minus,
    strings_minus,
    tighter_high,
    tighter_low,
    unordered,
    with_presence,
    without_values,
)
from a3agent.grammars.regex.matching import matches
from a3agent.grammars.schema.string_sets import ANY_STRING, StringSet

__all__ = ["Normalizer"]

_ANNOTATIONS = {
    "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated",
    "readOnly", "writeOnly", "$anchor", "$defs", "definitions", "contentEncoding",
    "contentMediaType", "contentSchema", "$vocabulary",
}
_TYPE_KEYWORDS = {
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "string": {"minLength", "maxLength", "pattern", "format"},
    "array": {"items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
              "minContains", "maxContains", "unevaluatedItems"},
    "object": {"properties", "required", "additionalProperties", "patternProperties", "propertyNames",
               "minProperties", "maxProperties", "dependencies", "dependentRequired", "dependentSchemas",
               "unevaluatedProperties"},
}
_UNSUPPORTED = {
    "contains": "arrays that must contain a matching item have no grammar here",
    "minContains": "arrays that must contain a matching item have no grammar here",
    "maxContains": "arrays that must contain a matching item have no grammar here",
    "unevaluatedItems": "needs the evaluation state of other keywords",
    "unevaluatedProperties": "needs the evaluation state of other keywords",
    "$dynamicRef": "dynamic references are not supported",
    "$recursiveRef": "dynamic references are not supported",
}
_GENERAL = {"type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref", "if", "then", "else"}
_TYPE_ALIASES = {"dict": "object", "float": "number", "tuple": "array"}
_ALL_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
_OLD_DRAFTS = ("draft-03", "draft-04", "draft-06", "draft-07")
_MAX_EXPANSION = 24
_MAX_DEPENDENT_SCHEMAS = 3



class Normalizer:
    """Turns the nodes of one root schema into shapes; knows how to resolve `$ref` in that root."""

    def __init__(self, root: Any) -> None:
        self.root = Node.of(root, "")
        schema_uri = root.get("$schema", "") if isinstance(root, dict) else ""
        self.ref_overrides_siblings = any(d in schema_uri for d in _OLD_DRAFTS)
        self._shapes: dict[str, Shape] = {}
        self._busy: list[str] = []

    # -- entry points -------------------------------------------------------------------------

    def shape(self, node: Node) -> Shape:
        """The union of shapes `node` admits."""
        if node.key in self._shapes:
            return self._shapes[node.key]
        if node.key in self._busy or len(self._busy) > _MAX_EXPANSION:
            raise UnsupportedSchema(node.path, "$ref", "a schema that refers to itself without nesting")
        self._busy.append(node.key)
        try:
            result = self._shape(node)
        finally:
            self._busy.pop()
        self._shapes[node.key] = result
        return result

    def shape_of_all(self, nodes: tuple[Node, ...]) -> Shape:
        """The values satisfying every node (an empty tuple: any value)."""
        result: Shape = (AnyValue(),)
        for node in nodes:
            result = self.intersect(result, self.shape(node))
        return result

    @cached_property
    def validator(self) -> Any:
        """The reference validator for the root's draft (built only when some value needs checking),
        checking `format` and patterns by the same languages the grammar uses. A schema whose
        `$ref`s loop on one value is refused first: the validator would recurse on it until
        Python's limit, where jsonschema's maps (rpds) may panic instead of raising."""
        cycle = find_ref_cycle(self.root.schema) if isinstance(self.root.schema, dict) else None
        if cycle is not None:
            raise UnsupportedSchema(cycle[0][1:], "$ref", f"the references loop on one value: {' -> '.join(cycle)}")
        return reference_validator(self.root.schema, _ExactFormats())

    def valid(self, node: Node, value: Any) -> bool:
        """Whether `value` validates against `node`, by the reference validator. What stops that
        validator is the schema's fault, and refused as such: a `$ref` that does not resolve, a
        pattern the compiler does not support, a keyword whose value is malformed."""
        try:
            return self.validator.evolve(schema=node.schema).is_valid(value)
        except GrammarError:
            raise
        except _UnknownFormat as e:
            raise UnsupportedSchema(node.path, "format", f"unknown format {e}") from None
        except PatternError as e:
            raise UnsupportedSchema(node.path, "pattern", str(e)) from None
        except referencing.exceptions.Unresolvable as e:
            ref = e.ref or f"#{getattr(e, 'anchor', '')}"  # an anchor's error names it apart
            raise UnsupportedSchema(node.path, "$ref", f"{ref!r} does not resolve in this schema") from None
        except (TypeError, AttributeError, ValueError, ArithmeticError, LookupError) as e:
            raise self._malformed(node, e) from None
        except BaseException as e:
            if type(e).__name__ != "PanicException":
                raise
            # Python's recursion limit struck inside rpds (jsonschema's maps), which panics on it
            raise GrammarTooComplex(node.path, "schema_depth", limits().schema_depth,
                                    "checking a value against the schema recursed too deep") from None

    def _malformed(self, node: Node, error: Exception) -> UnsupportedSchema:
        """The refusal for a node the reference validator failed on: the keyword its draft's
        meta-schema faults, else the failure itself."""
        fault = meta_schema_fault(node.schema, node.path)
        if fault is not None:
            return fault
        return UnsupportedSchema(node.path, "schema", f"the values cannot be checked against it ({type(error).__name__}: {error})")

    def resolve(self, node: Node, ref: str) -> Node:
        """The node a local `$ref` points to."""
        root_id = self.root.schema.get("$id", "") if isinstance(self.root.schema, dict) else ""
        pointer = ref[len(root_id):] if root_id and ref.startswith(root_id) else ref
        if not pointer.startswith("#"):
            raise UnsupportedSchema(node.path, "$ref", f"only local references are supported, not {ref!r}")
        if pointer[1:2] not in ("", "/"):  # `#name` names an anchor, not the property `name`
            raise UnsupportedSchema(node.path, "$ref", f"anchor references are not supported: {ref!r}")
        target, path = self.root.schema, ""
        # a URI fragment: percent-decoded whole, then split and unescaped as RFC 6901 says (a `%2F`
        # separates, as in jsonschema's `referencing`)
        for raw in unquote(pointer[2:]).split("/") if len(pointer) > 1 else ():
            step = raw.replace("~1", "/").replace("~0", "~")
            try:
                target = target[int(step)] if isinstance(target, list) else target[step]
            except (KeyError, IndexError, ValueError, TypeError):
                raise UnsupportedSchema(node.path, "$ref", f"{ref!r} does not resolve in this schema") from None
            path += "/" + raw
        return Node.of(target, path)

    # -- building -----------------------------------------------------------------------------

    def _shape(self, node: Node) -> Shape:
        schema = node.schema
        if schema is True or schema == {}:
            return (AnyValue(),)
        if schema is False:
            return ()
        if not isinstance(schema, dict):
            raise UnsupportedSchema(node.path, "type", "a schema must be an object or a boolean")
        candidates = self._finite_candidates(node, 0)
        if candidates is not None:
            return self._constants(node, candidates)
        if "$ref" in schema and (self.ref_overrides_siblings or not (_GENERAL | _all_type_keywords()) & (schema.keys() - {"$ref"})):
            return (Reference(self.resolve(node, schema["$ref"])),)
        types = self._types(node)
        self._refuse_unsupported(node, types)
        result = self._typed(node, types)
        result = self._dependent_schemas(node, result)
        for i, part in enumerate(schema.get("allOf", [])):
            result = self.intersect(result, self.shape(node.child(part, "allOf", i)))
        if "anyOf" in schema:
            result = self._any_of(node, result)
        if "oneOf" in schema:
            result = self._one_of(node, result)
        if "not" in schema:
            result = self.subtract(result, self.shape(node.child(schema["not"], "not")), node, "not")
        if "$ref" in schema:
            result = self.intersect(result, self.shape(self.resolve(node, schema["$ref"])))
        if "if" in schema:
            result = self._conditional(node, result)
        return result

    def _finite_candidates(self, node: Node, depth: int) -> list | None:
        """Values a node is confined to through enum/const/boolean/null, or None."""
        schema = node.schema
        if not isinstance(schema, dict) or depth > _MAX_EXPANSION:
            return None
        if "const" in schema:
            return [schema["const"]]
        if "enum" in schema:
            if not isinstance(schema["enum"], list):
                raise UnsupportedSchema(node.path, "enum", "enum must be an array")
            return list(schema["enum"])
        types = schema.get("type")
        if isinstance(types, str):
            types = [types]
        if isinstance(types, list) and types and set(types) <= {"boolean", "null"}:
            return [v for t in types for v in ((True, False) if t == "boolean" else (None,))]
        for i, part in enumerate(schema.get("allOf", [])):
            found = self._finite_candidates(node.child(part, "allOf", i), depth + 1)
            if found is not None:
                return found
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                options = [self._finite_candidates(node.child(b, keyword, i), depth + 1)
                           for i, b in enumerate(schema[keyword])]
                known = [o for o in options if o is not None]
                if options and len(known) == len(options):
                    return [v for o in known for v in o]
        if isinstance(schema.get("$ref"), str):
            return self._finite_candidates(self.resolve(node, schema["$ref"]), depth + 1)
        return None

    def _constants(self, node: Node, candidates: list) -> Shape:
        """The candidates `node` admits, each once. The node's own `enum` is checked as a set of
        `json_key`s and the rest of the node by the validator: linear in the number of values."""
        schema = node.schema if isinstance(node.schema, dict) else {}
        members = schema.get("enum")
        allowed = {json_key(v) for v in members} if isinstance(members, list) else None
        rest = replace(node, schema={k: v for k, v in schema.items() if k != "enum"}) if allowed is not None else node
        kept: list = []
        seen: set = set()
        for value in candidates:
            key = json_key(value)
            if key in seen or (allowed is not None and key not in allowed):
                continue
            seen.add(key)
            check_count(len(seen), "enum_values", node.path, "distinct values")
            charge(1, node.path)
            if self.valid(rest, value):
                kept.append(value)
        return (Constants(tuple(kept)),) if kept else ()

    def _types(self, node: Node) -> tuple[str, ...]:
        declared = node.schema.get("type", list(_ALL_TYPES))
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UnsupportedSchema(node.path, "type", "type must be a string or a list of strings")
        out: list[str] = []
        for name in names:
            name = _TYPE_ALIASES.get(name, name)
            if name == "any":
                out.extend(_ALL_TYPES)
            elif name in _ALL_TYPES:
                out.append(name)
            else:
                raise UnsupportedSchema(node.path, "type", f"unknown type {name!r}")
        if "number" in out:
            out = [t for t in out if t != "integer"]
        return tuple(dict.fromkeys(out))

    def _refuse_unsupported(self, node: Node, types: tuple[str, ...]) -> None:
        relevant = {"number" if t == "integer" else t for t in types}
        for keyword in node.schema:
            owner = next((t for t, keys in _TYPE_KEYWORDS.items() if keyword in keys), None)
            if owner is not None and owner not in relevant:
                continue
            if keyword in _UNSUPPORTED:
                raise UnsupportedSchema(node.path, keyword, _UNSUPPORTED[keyword])
            if keyword == "uniqueItems" and node.schema[keyword] is True:
                raise UnsupportedSchema(node.path, keyword, "unique items have no context-free grammar")
            if keyword == "format" and format_language(str(node.schema[keyword])) is None:
                raise UnsupportedSchema(node.path, keyword, f"unknown format {node.schema[keyword]!r}")

    def _typed(self, node: Node, types: tuple[str, ...]) -> Shape:
        schema = node.schema
        if set(types) == set(_ALL_TYPES) - {"integer"} and not (_all_type_keywords() & schema.keys()):
            return (AnyValue(),)
        out: list = []
        for t in types:
            if t == "null":
                out.append(Constants((None,)))
            elif t == "boolean":
                out.append(Constants((True, False)))
            elif t in ("integer", "number"):
                out.append(self._numbers(node, t == "integer"))
            elif t == "string":
                out.append(Strings(self._strings(node)))
            elif t == "array":
                out.append(self._arrays(node))
            else:
                out.append(self._objects(node))
        return tuple(out)

    # -- per type -----------------------------------------------------------------------------

    def _numbers(self, node: Node, integer: bool) -> Numbers:
        s = node.schema
        for keyword in ("minimum", "maximum", "multipleOf"):
            if keyword in s and not is_number(s[keyword]):
                raise UnsupportedSchema(node.path, keyword, "must be a number")
        lo = hi = None
        if "minimum" in s:
            lo = (as_fraction(s["minimum"]), s.get("exclusiveMinimum") is True)
        if "maximum" in s:
            hi = (as_fraction(s["maximum"]), s.get("exclusiveMaximum") is True)
        if is_number(s.get("exclusiveMinimum")):
            lo = tighter_low(lo, (as_fraction(s["exclusiveMinimum"]), True))
        if is_number(s.get("exclusiveMaximum")):
            hi = tighter_high(hi, (as_fraction(s["exclusiveMaximum"]), True))
        step = as_fraction(s["multipleOf"]) if "multipleOf" in s else None
        if step is not None and step <= 0:
            raise UnsupportedSchema(node.path, "multipleOf", "must be greater than 0")
        return Numbers(integer, lo, hi, step)

    def _strings(self, node: Node) -> StringSet:
        s = node.schema
        patterns = []
        if "pattern" in s:
            patterns.append(self._pattern(node, s["pattern"], "pattern"))
        if "format" in s:
            language = format_language(s["format"])
            assert language is not None, "the keyword check refuses unknown formats"
            patterns.append(language)
        return StringSet(_count(node, "minLength", 0), _count(node, "maxLength", None), tuple(patterns))

    def _pattern(self, node: Node, pattern: Any, keyword: str) -> Regex:
        if not isinstance(pattern, str):
            raise UnsupportedSchema(node.path, keyword, "a pattern must be a string")
        try:
            return pattern_language(pattern)
        except PatternError as e:
            raise UnsupportedSchema(node.path, keyword, str(e)) from None

    def _arrays(self, node: Node) -> Arrays:
        s = node.schema
        items, prefix_items = s.get("items"), s.get("prefixItems")
        if isinstance(items, list):
            prefix_items, items = items, s.get("additionalItems", True)
        prefix = tuple((node.child(x, "prefixItems" if "prefixItems" in s else "items", i),)
                       for i, x in enumerate(prefix_items or []))
        rest_schema = True if items is None else items
        rest_path = "items" if "items" in s and not isinstance(s.get("items"), list) else "additionalItems"
        rest = None if rest_schema is False else () if rest_schema in (True, {}) else (node.child(rest_schema, rest_path),)
        return Arrays(prefix, rest, _count(node, "minItems", 0), _count(node, "maxItems", None))

    def _objects(self, node: Node) -> Objects:
        s = node.schema
        properties = s.get("properties", {})
        patterns = s.get("patternProperties", {})
        if not isinstance(properties, dict) or not isinstance(patterns, dict):
            raise UnsupportedSchema(node.path, "properties", "must be an object")
        additional = s.get("additionalProperties", True)
        part = ObjectPart(
            tuple((name, node.child(value, "properties", name)) for name, value in properties.items()),
            tuple((self._pattern(node.child(p, "patternProperties"), p, "patternProperties"),
                   node.child(value, "patternProperties", p)) for p, value in patterns.items()),
            None if additional in (True, {}) else node.child(additional, "additionalProperties"),
        )
        required = s.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise UnsupportedSchema(node.path, "required", "must be an array of strings")
        names = ANY_STRING
        if "propertyNames" in s:
            names = self._key_strings(node.child(s["propertyNames"], "propertyNames"))
        presence = tuple(Presence("if", (frozenset({key}), frozenset(keys)))
                         for key, keys in _dependent_keys(node).items())
        return Objects((part,), frozenset(required), names, _count(node, "minProperties", 0),
                       _count(node, "maxProperties", None), presence)

    def _key_strings(self, node: Node) -> StringSet:
        """The keys `propertyNames` allows, as one StringSet (only its string values matter)."""
        shape = self.shape(node)
        if any(isinstance(s, AnyValue) for s in shape):
            return ANY_STRING
        sets = [s.strings for s in shape if isinstance(s, Strings)]
        finite = frozenset(v for s in shape if isinstance(s, Constants) for v in s.values if isinstance(v, str))
        if not sets:
            return StringSet(only=finite)
        if len(sets) > 1 or not all(v in sets[0] for v in finite):
            raise UnsupportedSchema(node.path, "propertyNames", "a union of key languages is not supported")
        return sets[0]

    # -- combinators --------------------------------------------------------------------------

    def _one_of(self, node: Node, base: Shape) -> Shape:
        key_sets = _required_only(node.schema["oneOf"])
        if key_sets is not None:
            return with_presence(self.concrete(base), Presence("one", key_sets), drop_others=len(key_sets) != 1)
        branches = [self.intersect(base, self.shape(node.child(b, "oneOf", i)))
                    for i, b in enumerate(node.schema["oneOf"])]
        for i, a in enumerate(branches):
            for b in branches[i + 1:]:
                if not self.disjoint(a, b):
                    raise UnsupportedSchema(node.path, "oneOf", "branches are not provably disjoint")
        return tuple(s for b in branches for s in b)

    def _any_of(self, node: Node, base: Shape) -> Shape:
        key_sets = _required_only(node.schema["anyOf"])
        if key_sets is not None:
            return with_presence(self.concrete(base), Presence("any", key_sets), drop_others=False)
        branches = [self.shape(node.child(b, "anyOf", i)) for i, b in enumerate(node.schema["anyOf"])]
        return self.intersect(base, tuple(s for b in branches for s in b))

    def _dependent_schemas(self, node: Node, base: Shape) -> Shape:
        """Each key with a dependent schema splits objects into 'key absent' and 'key present, schema holds'."""
        dependents = _dependent_schemas(node)
        if len(dependents) > _MAX_DEPENDENT_SCHEMAS:
            raise UnsupportedSchema(node.path, "dependentSchemas", f"more than {_MAX_DEPENDENT_SCHEMAS} dependent schemas")
        for key, (keyword, schema) in dependents.items():
            base = self.concrete(base)
            absent = tuple(replace(o, parts=o.parts + (ObjectPart(((key, Node.of(False, node.path)),), ordered=False),))
                           if isinstance(o, Objects) else o for o in base)
            present = tuple(replace(o, required=o.required | {key}) for o in base if isinstance(o, Objects))
            base = absent + self.intersect(present, unordered(self.resolved(self.shape(node.child(schema, keyword, key)))))
        return base

    def _conditional(self, node: Node, base: Shape) -> Shape:
        s = node.schema
        condition = unordered(self.resolved(self.shape(node.child(s["if"], "if"))))
        then = unordered(self.resolved(self.shape(node.child(s.get("then", True), "then"))))
        otherwise = unordered(self.resolved(self.shape(node.child(s.get("else", True), "else"))))
        when_true = self.intersect(self.intersect(base, condition), then)
        when_false = self.intersect(self.subtract(base, condition, node, "if"), otherwise)
        return when_true + when_false

    def resolved(self, shape: Shape) -> Shape:
        """The same union with every Reference replaced by the shapes it stands for."""
        return tuple(x for s in shape for x in (self.resolved(self.shape(s.node)) if isinstance(s, Reference) else (s,)))

    def concrete(self, shape: Shape) -> Shape:
        """The same union with no AnyValue or Reference: one shape per JSON type at most."""
        return tuple(x for s in self.resolved(shape) for x in (EVERY_TYPE if isinstance(s, AnyValue) else (s,)))

    def intersect(self, a: Shape, b: Shape) -> Shape:
        """Values in both unions."""
        out: list[object] = []
        for x in a:
            for y in b:
                out.extend(self._intersect_one(x, y))
        return tuple(dict.fromkeys(out))

    def _intersect_one(self, a: Any, b: Any) -> Shape:
        if isinstance(a, AnyValue):
            return (b,)
        if isinstance(b, AnyValue):
            return (a,)
        if isinstance(a, Constants) or isinstance(b, Constants):
            consts, other = (a, b) if isinstance(a, Constants) else (b, a)
            kept = tuple(v for v in consts.values if self.contains((other,), v))
            return (Constants(kept),) if kept else ()
        if isinstance(a, Reference):  # left stays left: the order of object properties depends on it
            return self.intersect(self.shape(a.node), (b,))
        if isinstance(b, Reference):
            return self.intersect((a,), self.shape(b.node))
        if type(a) is not type(b):
            return ()
        if isinstance(a, Numbers):
            return (Numbers(a.integer or b.integer, tighter_low(a.lo, b.lo), tighter_high(a.hi, b.hi),
                            a.step if b.step is None else b.step if a.step is None else step_lcm(a.step, b.step),
                            a.avoid + tuple(x for x in b.avoid if x not in a.avoid)),)
        if isinstance(a, Strings):
            return (Strings(a.strings.intersect(b.strings)),)
        if isinstance(a, Arrays):
            return (merge_arrays(a, b),)
        return (Objects(a.parts + b.parts, a.required | b.required, a.names.intersect(b.names),
                        max(a.min_props, b.min_props), min_optional(a.max_props, b.max_props),
                        a.presence + tuple(p for p in b.presence if p not in a.presence)),)

    def subtract(self, a: Shape, b: Shape, node: Node, keyword: str) -> Shape:
        """Values of `a` not in `b`; UnsupportedSchema(node, keyword) where that is not expressible."""
        for y in b:
            a = tuple(dict.fromkeys(r for x in a for r in self._subtract_one(x, y, node, keyword)))
        return a

    def _subtract_one(self, a: Any, b: Any, node: Node, keyword: str) -> Shape:
        if isinstance(b, AnyValue):
            return ()
        if isinstance(a, Constants):
            kept = tuple(v for v in a.values if not self.contains((b,), v))
            return (Constants(kept),) if kept else ()
        if isinstance(a, AnyValue):
            return self.subtract(EVERY_TYPE, (b,), node, keyword)
        if isinstance(a, Reference):
            return self.subtract(self.shape(a.node), (b,), node, keyword)
        if isinstance(b, Reference):
            return self.subtract((a,), self.shape(b.node), node, keyword)
        if isinstance(b, Constants):
            return without_values(a, b.values, node, keyword)
        if type(a) is not type(b):
            return (a,)
        if isinstance(a, Numbers):
            return tuple(n for piece in number_complement(b) for n in self._intersect_one(a, piece))
        if isinstance(a, Strings):
            return (Strings(strings_minus(a.strings, b.strings, node, keyword)),)
        if isinstance(a, Arrays):
            return arrays_minus(a, b, node, keyword)
        return objects_minus(a, b, node, keyword)

    def contains(self, shape: Shape, value: Any) -> bool:
        """Whether `value` is in the union."""
        return any(self._contains_one(s, value) for s in shape)

    def _contains_one(self, s: Any, value: Any) -> bool:
        if isinstance(s, AnyValue):
            return True
        if isinstance(s, Constants):
            return any(json_equal(value, v) for v in s.values)
        if isinstance(s, Reference):
            return self.valid(s.node, value)
        if isinstance(s, Numbers):
            return is_number(value) and number_in(s, as_fraction(value))
        if isinstance(s, Strings):
            return isinstance(value, str) and value in s.strings
        if isinstance(s, Arrays):
            return isinstance(value, list) and self._array_in(s, value)
        return isinstance(value, dict) and self._object_in(s, value)

    def _array_in(self, s: Arrays, value: list) -> bool:
        if len(value) < s.min_items or (s.max_items is not None and len(value) > s.max_items):
            return False
        for i, item in enumerate(value):
            nodes = s.prefix[i] if i < len(s.prefix) else s.rest
            if nodes is None or not all(self.valid(n, item) for n in nodes):
                return False
        return True

    def _object_in(self, s: Objects, value: dict) -> bool:
        if not s.required <= value.keys() or len(value) < s.min_props:
            return False
        if not all(p.holds(frozenset(value)) for p in s.presence):
            return False
        if s.max_props is not None and len(value) > s.max_props:
            return False
        for key, item in value.items():
            if key not in s.names:
                return False
            for part in s.parts:
                hits = [i for i, (p, _) in enumerate(part.patterns) if matches(p, key)]
                if not all(self.valid(n, item) for n in part.nodes_for(key, hits)):
                    return False
        return True

    def disjoint(self, a: Shape, b: Shape, depth: int = 0) -> bool:
        """Whether no value is in both unions (False when that cannot be proven)."""
        return all(self._disjoint_one(x, y, depth) for x in a for y in b)

    def _disjoint_one(self, a: Any, b: Any, depth: int) -> bool:
        if depth > 4 or isinstance(a, AnyValue) or isinstance(b, AnyValue):
            return False
        if isinstance(a, Constants) or isinstance(b, Constants):
            consts, other = (a, b) if isinstance(a, Constants) else (b, a)
            return not any(self.contains((other,), v) for v in consts.values)
        if isinstance(a, Reference) or isinstance(b, Reference):
            ref, other = (a, b) if isinstance(a, Reference) else (b, a)
            return self.disjoint(self.shape(ref.node), (other,), depth + 1)
        if type(a) is not type(b):
            return True
        if isinstance(a, Numbers):
            return below(a.hi, b.lo) or below(b.hi, a.lo)
        if isinstance(a, Strings):
            try:
                return a.strings.intersect(b.strings).is_empty()
            except TooComplex:
                return False
        if isinstance(a, Arrays):
            return counts_disjoint(a.min_items, a.max_items, b.min_items, b.max_items)
        return self._objects_disjoint(a, b, depth)

    def _objects_disjoint(self, a: Objects, b: Objects, depth: int) -> bool:
        if counts_disjoint(a.min_props, a.max_props, b.min_props, b.max_props):
            return True
        for key in a.required | b.required:
            left = self.shape_of_all(self.value_nodes(a, key))
            right = self.shape_of_all(self.value_nodes(b, key))
            if key in a.required and key in b.required:
                if self.disjoint(left, right, depth + 1):
                    return True
            elif not (right if key in a.required else left):
                return True
        return False

    def value_nodes(self, objects: Objects, key: str) -> tuple[Node, ...]:
        """Every node the value under `key` must satisfy (plus a False node if the key is barred)."""
        nodes: list[Node] = []
        for part in objects.parts:
            hits = [i for i, (p, _) in enumerate(part.patterns) if matches(p, key)]
            nodes.extend(part.nodes_for(key, hits))
        if key not in objects.names:
            nodes.append(Node.of(False, ""))
        return tuple(dict.fromkeys(nodes))


@overload
def _count(node: Node, keyword: str, default: int) -> int: ...


@overload
def _count(node: Node, keyword: str, default: None) -> int | None: ...


def _count(node: Node, keyword: str, default: int | None) -> int | None:
    """A count keyword as an int: JSON Schema allows any integral number (`2.0`), never a bool."""
    value = node.schema.get(keyword, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or (
            isinstance(value, float) and not value.is_integer()):
        raise UnsupportedSchema(node.path, keyword, "must be a non-negative integer")
    return int(value)


class _UnknownFormat(Exception):
    """A string met a `format` with no exact language here."""


class _ExactFormats(jsonschema.FormatChecker):
    """Formats as `formats` defines them, for the values of enum/const: jsonschema's own checkers
    are looser (email) or absent without optional packages (date-time), which would let a value
    through that the grammar of the same keyword refuses. An unknown format raises."""

    def __init__(self) -> None:
        super().__init__(formats=())

    def check(self, instance: Any, format: str) -> None:
        if not isinstance(instance, str):
            return
        language = format_language(format)
        if language is None:
            raise _UnknownFormat(repr(format))
        if not matches(language, instance):
            raise jsonschema.exceptions.FormatError(f"{instance!r} is not a {format!r}")


def _required_only(branches: Any) -> tuple[frozenset[str], ...] | None:
    """The key sets of branches that only say `required` (and maybe `type: object`), else None."""
    if not isinstance(branches, list) or not branches:
        return None
    out = []
    for branch in branches:
        if not isinstance(branch, dict) or not isinstance(branch.get("required"), list):
            return None
        if branch.get("type", "object") != "object" or set(branch) - _ANNOTATIONS - {"required", "type"}:
            return None
        out.append(frozenset(branch["required"]))
    return tuple(out)


def _dependent_keys(node: Node) -> dict[str, list[str]]:
    """Key -> keys it requires, from `dependencies` (array form or required-only schema) and `dependentRequired`."""
    out: dict[str, list[str]] = {}
    for keyword in ("dependencies", "dependentRequired"):
        for key, value in node.schema.get(keyword, {}).items():
            if isinstance(value, list):
                out[key] = out.get(key, []) + value
            elif keyword == "dependencies":
                sets = _required_only([value])
                if sets is not None:
                    out[key] = out.get(key, []) + sorted(sets[0])
    return out


def _dependent_schemas(node: Node) -> dict[str, tuple[str, Any]]:
    """Key -> (keyword, schema) for dependent schemas that are more than a list of required keys."""
    out = {}
    for keyword in ("dependencies", "dependentSchemas"):
        for key, value in node.schema.get(keyword, {}).items():
            if not isinstance(value, list) and (keyword == "dependentSchemas" or _required_only([value]) is None):
                out[key] = (keyword, value)
    return out


def _all_type_keywords() -> set[str]:
    return set().union(*_TYPE_KEYWORDS.values())
