"""Exact language membership of generated grammars, with lark's Earley parser as the oracle.

Earley with the `dynamic_complete` lexer tries every split of the text into terminals and keeps
every parse, so it decides membership exactly for any grammar we emit (ambiguous or not). It is
slow, which is why the full MaskBench run lives in `maskbench_conformance.py`, not in a test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lark import Lark
from lark.exceptions import LarkError

from a3agent.errors import UnsatisfiableSchema, UnsupportedSchema
from a3agent.grammars.schema.json_schema import schema_to_grammar

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MASKBENCH = DATA / "maskbench"
BFCL = DATA / "bfcl"


def parser(grammar: str) -> Lark:
    """A parser deciding membership in the language of `grammar` exactly.

    lark's dynamic lexer takes the match `re` finds and tries its prefixes, but `re` picks the
    first alternative, not the longest (`0|[1-9][0-9]*` on "10" gives "1"). So every regex gets
    POSIX leftmost-longest semantics through the `regex` module's `(?p)` flag.
    """
    return Lark(_posix(grammar), parser="earley", lexer="dynamic_complete", start="start", regex=True)


SPECIALS = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")
_PRIVATE = {special: chr(0xE000 + i) for i, special in enumerate(SPECIALS)}


def turn_parser(grammar: str) -> Lark:
    """A parser for turn grammars with the engine's rule for special tokens.

    The engine matches a special literal only as its single token and never lets free text spell
    one. Here each special becomes one private-use character, in the grammar and in the text
    (`as_tokens`), and the free-text terminals exclude those characters.
    """
    for special, char in _PRIVATE.items():
        grammar = grammar.replace(f'"{special}"', f'"{char}"')
    lines = [f"{line.split(':')[0]}: /[^\ue000-\ue0ff]+/" if line.startswith(("THINK_TEXT:", "CONTENT:")) else line
             for line in grammar.split("\n")]
    return parser("\n".join(lines))


def as_tokens(text: str) -> str:
    """`text` with each special-token spelling turned into its single character (see turn_parser)."""
    for special, char in _PRIVATE.items():
        text = text.replace(special, char)
    return text


def _posix(grammar: str) -> str:
    out, i, n = [], 0, len(grammar)
    while i < n:
        c = grammar[i]
        if grammar.startswith("//", i):
            end = grammar.find("\n", i)
            end = n if end < 0 else end
            out.append(grammar[i:end])
            i = end
        elif c in "\"/":
            j = i + 1
            while grammar[j] != c:
                j += 2 if grammar[j] == "\\" else 1
            body = grammar[i + 1:j]
            out.append(f"/(?p){body}/" if c == "/" else grammar[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def accepts(p: Lark, text: str) -> bool:
    try:
        p.parse(text)
    except LarkError:
        return False
    return True


def instance_texts(data: Any) -> list[str]:
    """The two serialisations every instance is checked in: json.dumps default and compact."""
    return [json.dumps(data, ensure_ascii=False), json.dumps(data, ensure_ascii=False, separators=(",", ":"))]


def _resolve(schema: Any, root: Any) -> Any:
    """The subschema a chain of local `$ref`s ends at (a fragment's pointer percent-decoded, then
    RFC 6901's escapes); a chain that comes back to itself ends where it closes."""
    seen: set[int] = set()
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#"):
        if id(schema) in seen:
            break
        seen.add(id(schema))
        node = root
        for step in filter(None, unquote(schema["$ref"][1:]).split("/")):
            node = node[step.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _declared_order(schema: Any, root: Any) -> list[str]:
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return []
    names = list(schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else [])
    for keyword in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(keyword, []) if isinstance(schema.get(keyword), list) else []:
            names += [n for n in _declared_order(part, root) if n not in names]
    return names


def _child(schema: Any, root: Any, key: str | int) -> Any:
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return True
    if isinstance(key, str):
        props = schema.get("properties", {})
        if isinstance(props, dict) and key in props:
            return props[key]
        for keyword in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(keyword, []) if isinstance(schema.get(keyword), list) else []:
                found = _child(part, root, key)
                if found is not True:
                    return found
        return True
    items = schema.get("prefixItems") or schema.get("items")
    if isinstance(items, list):
        return items[key] if key < len(items) else schema.get("items", True)
    return items if isinstance(items, (dict, bool)) else True


def in_schema_order(data: Any, schema: Any, root: Any) -> Any:
    """`data` with object keys reordered as the schema declares them (undeclared keys last)."""
    if isinstance(data, dict):
        order = _declared_order(schema, root)
        keys = sorted(data, key=lambda k: order.index(k) if k in order else len(order))
        return {k: in_schema_order(data[k], _child(schema, root, k), root) for k in keys}
    if isinstance(data, list):
        return [in_schema_order(v, _child(schema, root, i), root) for i, v in enumerate(data)]
    return data


@dataclass
class FileResult:
    """What happened to one MaskBench file."""

    name: str
    compiled: bool = False
    refusal: tuple[str, str] | None = None
    tests: int = 0
    valid_rejected: list[str] = field(default_factory=list)
    invalid_accepted: list[str] = field(default_factory=list)
    key_order: list[str] = field(default_factory=list)
    """Valid instances rejected only because their keys are not in schema order."""


def check_file(path: Path) -> FileResult:
    """Compile one MaskBench schema and check every instance in both serialisations."""
    spec = json.loads(path.read_text())
    result = FileResult(path.name)
    try:
        grammar = schema_to_grammar(spec["schema"])
    except UnsupportedSchema as e:
        result.refusal = (e.keyword, str(e))
        return result
    except UnsatisfiableSchema as e:
        result.refusal = ("(unsatisfiable)", str(e))
        return result
    result.compiled = True
    p = parser(grammar)
    for i, test in enumerate(spec["tests"]):
        result.tests += 1
        for text in instance_texts(test["data"]):
            ok = accepts(p, text)
            if test["valid"] and not ok:
                reordered = in_schema_order(test["data"], spec["schema"], spec["schema"])
                if list(_flat_keys(reordered)) != list(_flat_keys(test["data"])) \
                        and all(accepts(p, t) for t in instance_texts(reordered)):
                    result.key_order.append(f"{i}: {text[:100]}")
                else:
                    result.valid_rejected.append(f"{i}: {text[:200]}")
                break
            if not test["valid"] and ok:
                result.invalid_accepted.append(f"{i}: {text[:200]}")
                break
    return result


def _flat_keys(data: Any):
    if isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from _flat_keys(v)
    elif isinstance(data, list):
        for v in data:
            yield from _flat_keys(v)
