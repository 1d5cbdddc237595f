"""The meta-schema check of a tool's parameters schema, in bounded time and stack.

jsonschema checks a schema against its draft's meta-schema recursively, about ten Python frames per
level of nesting, at about half a millisecond per subschema (2020-12 draft, measured). So the
document's nesting (`MAX_SCHEMA_DEPTH`) and what the check is handed (`MAX_CHECKED_NODES`) are
bounded first, by a walk that does not recurse. Besides the document, the subschemas its local
`$ref`s point at are checked, since a meta-schema does not look under keys it does not know
(`"defs"`): each target once, and only when no check already reaches it through keywords the draft
knows (asked of the meta-schema once per keyword). Cost: linear in the document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema

from a3agent.errors import ToolDefinitionError
from a3agent.tools.schema_cycles import SUBSCHEMA_LISTS, SUBSCHEMA_MAPS, SUBSCHEMAS, ref_targets

__all__ = ["MAX_SCHEMA_DEPTH", "MAX_CHECKED_NODES", "check_parameters"]

MAX_SCHEMA_DEPTH = 64
"""Nesting of objects and arrays in a parameters schema. The meta-schema check recurses about ten
Python frames per level, so a schema much deeper would end it in RecursionError."""

MAX_CHECKED_NODES = 10_000
"""Objects and arrays the meta-schema check of one parameters schema is handed, the schema and each
`$ref` target checked apart counted whole: at about half a millisecond each, a few seconds at most."""


def check_parameters(name: str, parameters: dict[str, Any]) -> None:
    """Raise ToolDefinitionError for a parameters schema (of tool `name`) that its draft's
    meta-schema refuses, or that is past `MAX_SCHEMA_DEPTH` or `MAX_CHECKED_NODES`."""
    try:
        meta = jsonschema.validators.validator_for(parameters)
    except (TypeError, AttributeError) as exc:  # a `$schema` that is no string
        raise ToolDefinitionError(f"tool {name!r}: invalid parameters schema: its $schema is no draft URI ({exc})") from None
    sizes = _sizes(name, parameters)
    checked = [("#", parameters), *_unreached_targets(meta, parameters)]
    handed = sum(sizes[id(subschema)] for _, subschema in checked)
    if handed > MAX_CHECKED_NODES:
        raise ToolDefinitionError(
            f"tool {name!r}: checking its parameters schema and the {len(checked) - 1} subschemas its $refs point "
            f"at apart would take {handed} objects and arrays, past MAX_CHECKED_NODES={MAX_CHECKED_NODES}; "
            "keep the subschemas that $refs point at under \"$defs\" (\"definitions\" before draft 2019-09)"
        )
    for pointer, subschema in checked:
        where = "" if pointer == "#" else f" at {pointer}"
        try:
            meta.check_schema(subschema)
        except jsonschema.SchemaError as exc:
            raise ToolDefinitionError(f"tool {name!r}: invalid parameters schema{where}: {exc.message}") from None
        except RecursionError:  # the depth bound is meant to trip first; a caller deep in its stack
            raise ToolDefinitionError(f"tool {name!r}: its parameters schema{where} nests too deeply to be "
                                      "checked; flatten it") from None


def _sizes(name: str, schema: dict[str, Any]) -> dict[int, int]:
    """Objects and arrays in the subtree of each object of `schema`, itself included, by id;
    raises past `MAX_SCHEMA_DEPTH` or `MAX_CHECKED_NODES`. Visits each occurrence, as the check does."""
    visited: list[tuple[Any, int]] = []  # (object or array, index of its parent), parents first
    todo: list[tuple[Any, int, int]] = [(schema, -1, 1)]
    while todo:
        value, parent, depth = todo.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise ToolDefinitionError(
                f"tool {name!r}: its parameters schema nests objects and arrays more than "
                f"MAX_SCHEMA_DEPTH={MAX_SCHEMA_DEPTH} deep; flatten it (a $ref to a \"$defs\" entry adds no depth)"
            )
        if len(visited) == MAX_CHECKED_NODES:
            raise ToolDefinitionError(f"tool {name!r}: its parameters schema has more than "
                                      f"MAX_CHECKED_NODES={MAX_CHECKED_NODES} objects and arrays")
        visited.append((value, parent))
        children = value.values() if isinstance(value, dict) else value
        todo += [(child, len(visited) - 1, depth + 1) for child in children if isinstance(child, (dict, list))]
    counts = [1] * len(visited)
    for index in range(len(visited) - 1, 0, -1):
        counts[visited[index][1]] += counts[index]
    return {id(value): count for (value, _), count in zip(visited, counts) if isinstance(value, dict)}


def _unreached_targets(meta: Any, schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The `$ref` targets that neither the check of `schema` nor of another target reaches, each
    once; shallower targets are taken first, so one inside another's reach is left out."""
    reached: set[int] = set()
    _reach(meta, schema, reached)
    unreached = []
    for pointer, target in sorted(ref_targets(schema), key=lambda item: item[0].count("/")):
        if id(target) not in reached:
            unreached.append((pointer, target))
            _reach(meta, target, reached)
    return unreached


def _reach(meta: Any, start: dict[str, Any], reached: set[int]) -> None:
    """Add the ids of the subschemas the check of `start` looks at to `reached` (stopping at those already in)."""
    todo = [start]
    while todo:
        node = todo.pop()
        if id(node) in reached:
            continue
        reached.add(id(node))
        for keyword, value in node.items():
            if isinstance(value, dict) and keyword in SUBSCHEMAS and _looks_in(meta, keyword, "one"):
                todo.append(value)
            elif isinstance(value, dict) and keyword in SUBSCHEMA_MAPS and _looks_in(meta, keyword, "map"):
                todo += [sub for sub in value.values() if isinstance(sub, dict)]
            elif isinstance(value, list) and keyword in SUBSCHEMA_LISTS and _looks_in(meta, keyword, "list"):
                todo += [sub for sub in value if isinstance(sub, dict)]


@cache
def _looks_in(meta: Any, keyword: str, shape: str) -> bool:
    """Whether `meta`'s check refuses a bad subschema that `keyword` holds in this shape: it looks in
    there (or refuses the shape itself, and with it any schema where this shape is reached)."""
    bad = {"type": 5}
    probe = {"one": bad, "map": {"x": bad}, "list": [bad]}[shape]
    return not meta(meta.META_SCHEMA).is_valid({keyword: probe})
