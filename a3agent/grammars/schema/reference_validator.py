"""The reference validator (jsonschema) with the grammar's patterns: ECMA-262, matched by automata.

Python's `re` is another dialect than JSON Schema's ECMA-262 (`\\d` takes any Unicode digit, `$`
matches before a final newline, `\\p{L}` is an error): the compiler's `enum`/`const` filter would
judge values by another language than the grammar's. Here `pattern`, `patternProperties` and
`additionalProperties` use the compiler's pattern languages (`ecma_regex.pattern_language`),
matched in time linear in the string (`regex.matching`), on the tools room's validator that never
fetches a `$ref` (`tools.argument_validator`).

Raises `PatternError` for a pattern the compiler does not support, and lets jsonschema's own errors
through (an unresolvable `$ref`, a keyword whose value is malformed): callers say what they mean.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema

from a3agent.grammars.regex.char_regex import Regex
from a3agent.grammars.regex.ecma_regex import pattern_language
from a3agent.grammars.regex.matching import matches
from a3agent.tools.argument_validator import bounded_validator

__all__ = ["reference_validator"]


def reference_validator(schema: Any, format_checker: jsonschema.FormatChecker | None = None) -> Any:
    """A validator of `schema`'s draft (2020-12 when it names none) with ECMA-262 patterns and
    no reference retrieval."""
    return bounded_validator(schema, _found, format_checker)


@lru_cache(maxsize=1024)
def _language(pattern: str) -> Regex:
    return pattern_language(pattern)


def _found(pattern: str, text: str) -> bool:
    return matches(_language(pattern), text)
