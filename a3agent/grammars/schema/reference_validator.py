"""The reference validator (jsonschema) with the grammar's patterns: ECMA-262, matched by automata.

Python's `re` is another dialect than JSON Schema's ECMA-262 (`\\d` takes any Unicode digit, `$`
matches before a final newline, `\\p{L}` is an error): the compiler's `enum`/`const` filter would
judge values by another language than the grammar's. Here `pattern`, `patternProperties` and
`additionalProperties` use the compiler's pattern languages (`ecma_regex.pattern_language`),
matched in time linear in the string (`regex.matching`), on the tools room's validator that never
fetches a `$ref` (`tools.argument_validator`).

Raises `PatternError` for a pattern the compiler does not support, and lets jsonschema's own errors
through (an unresolvable `$ref`, a keyword whose value is malformed): callers say what they mean,
`meta_schema_fault` naming the malformed keyword by the draft's meta-schema.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema

from a3agent.errors import UnsupportedSchema
from a3agent.grammars.regex.char_regex import Regex
from a3agent.grammars.regex.ecma_regex import pattern_language
from a3agent.grammars.regex.matching import matches
from a3agent.tools.argument_validator import bounded_validator
from a3agent.tools.schema_cycles import SUBSCHEMA_LISTS, SUBSCHEMA_MAPS, SUBSCHEMAS, ref_targets

__all__ = ["reference_validator", "meta_schema_fault"]


def reference_validator(schema: Any, format_checker: jsonschema.FormatChecker | None = None) -> Any:
    """A validator of `schema`'s draft (2020-12 when it names none) with ECMA-262 patterns and
    no reference retrieval."""
    return bounded_validator(schema, _found, format_checker)


@lru_cache(maxsize=1024)
def _language(pattern: str) -> Regex:
    return pattern_language(pattern)


def _found(pattern: str, text: str) -> bool:
    return matches(_language(pattern), text)


def meta_schema_fault(schema: Any, path: str = "") -> UnsupportedSchema | None:
    """The refusal of `schema` (at JSON pointer `path`) by its draft's meta-schema, naming the
    keyword at fault; None when the meta-schema finds none. The subschemas its local `$ref`s
    point at are checked too (the meta-schema does not look under keys it does not know, such as
    `"defs"`). Asked once something has failed on a schema: cost linear in its size."""
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    except (TypeError, AttributeError):  # `$schema` that is no string
        return UnsupportedSchema(path, "$schema", "must be the URI of a JSON Schema draft")
    meta = cls(cls.META_SCHEMA)
    for pointer, subschema in [("", schema), *((p[1:], target) for p, target in ref_targets(schema))]:
        fault = jsonschema.exceptions.best_match(meta.iter_errors(subschema))
        if fault is not None:
            node, keyword = _keyword_at([str(step) for step in fault.absolute_path])
            return UnsupportedSchema(path + pointer + node, keyword, fault.message)
    return None


def _keyword_at(steps: list[str]) -> tuple[str, str]:
    """(JSON pointer of the subschema, keyword) holding the value at `steps` from the root: down
    through the keywords that hold subschemas, to the first one that holds a value."""
    node, keyword, i = "", "type", 0
    while i < len(steps):
        keyword = steps[i]
        child = steps[i + 1] if i + 1 < len(steps) else None
        if child is not None and (keyword in SUBSCHEMA_MAPS or (keyword in SUBSCHEMA_LISTS and child.isdigit())):
            node, i = f"{node}/{keyword}/{child}", i + 2
        elif child is not None and keyword in SUBSCHEMAS:
            node, i = f"{node}/{keyword}", i + 1
        else:
            break
    return node, keyword
