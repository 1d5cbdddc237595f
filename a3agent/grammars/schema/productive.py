"""Which of the schema compiler's rules derive some finite text, decided on their lark bodies.

A recursive schema can give a rule that never ends (`{"$ref": "#"}`, an object that requires
itself); such a rule would let the parser start a value it can never finish, so the schema is
refused. The bodies are read into BNF by the engine's own reader (`ebnf.read_bodies`, no lark:
reading a large grammar with lark cost as much as the rest of its compile); a rule derives finite
text exactly when it derives the empty string once every terminal is erased, so the answer is
the linear nullable worklist (`lalr.nullable_symbols`) over the erased rules.

Example: `productive_rules({"a": "\"x\" b?", "b": "b"})` is `{"a"}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.ebnf import read_bodies
from a3agent.grammars.engine.lalr import nullable_symbols

__all__ = ["productive_rules"]


def productive_rules(rules: Mapping[str, str]) -> set[str]:
    """The names of `rules` (name -> lark body) that derive some finite text. A name that is not
    one of `rules` (a terminal, a rule defined elsewhere) counts as productive."""
    bnf = read_bodies(rules)
    if bnf is None:
        raise MalformedGrammar("a rule body is not in the part of lark the schema compiler writes")
    defined = {lhs for lhs, _ in bnf}
    erased = [(lhs, tuple(sym for sym in rhs if sym in defined)) for lhs, rhs in bnf]
    return set(nullable_symbols(erased)) & set(rules)
