"""Pure rewrites of tool parameter schemas into the plain JSON Schema the model and the grammar see.

Walks schemas structurally (through `properties`, `items`, `anyOf`, ...), so a property *named*
`title` or `type` and data under `default`/`enum`/`const` are never mistaken for keywords. Only local
`#/$defs/...` references are inlined; remote references are left for the grammar engine to refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["map_subschemas", "normalise_schema", "inline_refs", "strip_titles"]

Schema = dict[str, Any]

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMAS = ("items", "additionalItems", "additionalProperties", "unevaluatedItems", "unevaluatedProperties",
            "contains", "propertyNames", "not", "if", "then", "else")

# BFCL and other Python-flavoured tool sets use Python type names.
_TYPE_NAMES = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer",
               "bool": "boolean", "str": "string"}


def map_subschemas(schema: Schema, fn: Callable[[Schema], Schema]) -> Schema:
    """A copy of `schema` with `fn` applied to each direct subschema (not recursively: `fn` recurses)."""
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _apply(fn, sub) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_apply(fn, sub) for sub in out[key]]
    for key in _SCHEMAS:
        if isinstance(out.get(key), list):  # draft-4 tuple form of "items"
            out[key] = [_apply(fn, sub) for sub in out[key]]
        elif key in out:
            out[key] = _apply(fn, out[key])
    return out


def _apply(fn: Callable[[Schema], Schema], sub: Any) -> Any:
    return fn(sub) if isinstance(sub, dict) else sub  # booleans are schemas too, and stay as they are


def normalise_schema(schema: Schema) -> Schema:
    """Python-style type names to JSON Schema ones; `"any"` drops the type; BFCL's `optional` flag goes.

    Example: `{"type": "dict", "properties": {"x": {"type": "float"}}}` ->
    `{"type": "object", "properties": {"x": {"type": "number"}}}`
    """
    out = {key: value for key, value in schema.items() if key != "optional"}  # `required` already says it
    kind = out.get("type")
    if kind == "any":
        del out["type"]
    elif isinstance(kind, str):
        out["type"] = _TYPE_NAMES.get(kind, kind)
    elif isinstance(kind, list):
        out["type"] = [_TYPE_NAMES.get(name, name) for name in kind]
    return map_subschemas(out, normalise_schema)


def inline_refs(schema: Schema) -> Schema:
    """Replace local `$ref`s by the definitions they name; recursive ones stay as refs under `$defs`."""
    defs: dict[str, Schema] = schema.get("$defs", {})
    recursive: set[str] = set()

    def resolve(node: Schema, stack: frozenset[str]) -> Schema:
        name = _local_ref(node)
        if name is None or name not in defs:
            return map_subschemas(node, lambda sub: resolve(sub, stack))
        if name in stack:
            recursive.add(name)
            return node
        merged = {**defs[name], **{key: value for key, value in node.items() if key != "$ref"}}
        return map_subschemas(merged, lambda sub: resolve(sub, stack | {name}))

    out = resolve({key: value for key, value in schema.items() if key != "$defs"}, frozenset())
    kept: dict[str, Schema] = {}
    while recursive - kept.keys():
        name = min(recursive - kept.keys())
        kept[name] = map_subschemas(defs[name], lambda sub: resolve(sub, frozenset({name})))
    return {**out, "$defs": kept} if kept else out


def _local_ref(node: Schema) -> str | None:
    ref = node.get("$ref")
    return ref.removeprefix("#/$defs/") if isinstance(ref, str) and ref.startswith("#/$defs/") else None


def strip_titles(schema: Schema) -> Schema:
    """Drop the `title` keyword everywhere: pydantic's generated titles only cost prompt tokens."""
    return map_subschemas({key: value for key, value in schema.items() if key != "title"}, strip_titles)
