"""Find a `$ref` cycle that never descends into the instance, which no validator can finish.

`{"$defs": {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}}}` sends jsonschema from A back to
A on the same value until Python's recursion limit. A recursive schema is fine when each round trip
goes through a keyword that descends (`properties`, `items`, ...): the value gets smaller. So the
check is a cycle search over the edges that stay on the same value: in-place applicators (`allOf`,
`anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`) and local JSON-pointer `$ref`s.

Not handled here: `$id`-relative, anchor (`#name`) and remote references (not followed; the grammar
engine refuses those), and `$dynamicRef`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

__all__ = ["find_ref_cycle", "ref_target", "ref_targets", "SUBSCHEMA_MAPS", "SUBSCHEMA_LISTS", "SUBSCHEMAS"]

Path = tuple[str, ...]

_IN_PLACE_LISTS = ("allOf", "anyOf", "oneOf")
_IN_PLACE = ("not", "if", "then", "else")
_IN_PLACE_MAPS = ("dependentSchemas", "dependencies")
_DESCENDING_MAPS = ("properties", "patternProperties")
_DESCENDING = ("items", "additionalItems", "additionalProperties", "unevaluatedItems", "unevaluatedProperties",
               "contains", "propertyNames")
_DESCENDING_LISTS = ("prefixItems", "items")  # "items" as a list: the draft-4 tuple form
SUBSCHEMA_MAPS = frozenset(_IN_PLACE_MAPS + _DESCENDING_MAPS + ("$defs", "definitions"))
"""Keywords whose value maps names to subschemas."""
SUBSCHEMA_LISTS = frozenset(_IN_PLACE_LISTS + _DESCENDING_LISTS)
"""Keywords whose value is a list of subschemas."""
SUBSCHEMAS = frozenset(_IN_PLACE + _DESCENDING)
"""Keywords whose value is one subschema."""


def find_ref_cycle(schema: dict[str, Any]) -> list[str] | None:
    """The JSON pointers of a cycle that stays on one value, first repeated at the end; None if none.

    Example: `find_ref_cycle({"$ref": "#"})` -> `["#", "#"]`.
    """
    in_place: dict[Path, list[Path]] = {}
    pending: list[Path] = [()]
    seen: set[Path] = {()}
    while pending:  # every subschema reachable from the root, with its same-value edges
        path = pending.pop()
        same, deeper = _edges(schema, path)
        in_place[path] = same
        for target in same + deeper:
            if target not in seen:
                seen.add(target)
                pending.append(target)
    cycle = _cycle(in_place)
    return None if cycle is None else [_pointer(path) for path in cycle]


def _edges(root: dict[str, Any], path: Path) -> tuple[list[Path], list[Path]]:
    node = _at(root, path)
    if not isinstance(node, dict):
        return [], []
    same = [path + (key, str(i)) for key in _IN_PLACE_LISTS for i, _ in enumerate(_list(node, key))]
    same += [path + (key,) for key in _IN_PLACE if isinstance(node.get(key), dict)]
    same += [path + (key, name) for key in _IN_PLACE_MAPS for name, sub in _map(node, key) if isinstance(sub, dict)]
    target = _local_ref(root, node.get("$ref"))
    if target is not None:
        same.append(target)
    deeper = [path + (key, name) for key in _DESCENDING_MAPS for name, _ in _map(node, key)]
    deeper += [path + (key,) for key in _DESCENDING if isinstance(node.get(key), dict)]
    deeper += [path + (key, str(i)) for key in _DESCENDING_LISTS for i, _ in enumerate(_list(node, key))]
    return same, deeper


def _cycle(edges: dict[Path, list[Path]]) -> list[Path] | None:
    """Iterative depth-first search (schemas can be deeper than the recursion limit)."""
    state: dict[Path, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        if start in state:
            continue
        stack: list[tuple[Path, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            targets = edges.get(node, [])
            if index == len(targets):
                stack.pop()
                state[node] = 2
                continue
            stack[-1] = (node, index + 1)
            target = targets[index]
            if state.get(target) == 1:
                on_path = [path for path, _ in stack]
                return on_path[on_path.index(target):] + [target]
            if target not in state:
                state[target] = 1
                stack.append((target, 0))
    return None


def ref_targets(schema: Any) -> list[tuple[str, dict[str, Any]]]:
    """(pointer, subschema) for each subschema that a local JSON-pointer `$ref` of `schema` points
    at, once however many `$ref`s do: meta-schema checks look there too, since a draft's meta-schema
    does not look under keys it does not know (`"defs"`). Cost: one visit per value of the document."""
    out: dict[Path, tuple[str, dict[str, Any]]] = {}
    todo = [schema]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            path = _local_ref(schema, value.get("$ref")) if isinstance(schema, dict) else None
            if path and path not in out:
                out[path] = (_pointer(path), _at(schema, path))
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
    return list(out.values())


def ref_target(root: dict[str, Any], ref: object) -> dict[str, Any] | None:
    """The subschema of `root` a local JSON-pointer `$ref` points at (RFC 6901, percent-escapes
    decoded), or None when it is not one or does not resolve to an object."""
    path = _local_ref(root, ref)
    return None if path is None else _at(root, path)


def _local_ref(root: dict[str, Any], ref: object) -> Path | None:
    if ref == "":  # the empty reference is the document itself (RFC 3986), as "#"
        ref = "#"
    if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
        return None
    # percent-decoded whole, then split (a `%2F` separates, as in jsonschema's `referencing`)
    path = tuple(part.replace("~1", "/").replace("~0", "~") for part in unquote(ref[2:]).split("/")) if ref != "#" else ()
    return path if isinstance(_at(root, path), dict) else None


def _at(root: Any, path: Path) -> Any:
    node = root
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _list(node: dict[str, Any], key: str) -> list[Any]:
    value = node.get(key)
    return value if isinstance(value, list) else []


def _map(node: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    value = node.get(key)
    return list(value.items()) if isinstance(value, dict) else []


def _pointer(path: Path) -> str:
    return "#" + "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)
