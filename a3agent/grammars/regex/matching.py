"""Whether one string is in a regex's language, in time linear in the string.

The compiler asks this of the strings a schema names (declared property names against
`patternProperties`, `enum` and `const` values against `pattern` and `format`), and tools ask it of
their arguments. Python's `re` would answer by backtracking: `(?:\\w+\\s?)*` takes a minute on 30
characters that do not match. Here the regex is a lazily built byte automaton (`LazyDFA`, one per
regex, kept for the 256 most recent): each byte is one row lookup, and a row is built once, when
some string first reaches its state (bounded by `Limits.dfa_states` and, inside a compile, by its
budget).
"""

from __future__ import annotations

from functools import lru_cache

from a3agent.grammars.engine.byte_regex import Nodes
from a3agent.grammars.engine.lazy_dfa import LazyDFA
from a3agent.grammars.regex.char_regex import Regex, to_nodes

__all__ = ["matches"]


@lru_cache(maxsize=256)
def _automaton(r: Regex) -> LazyDFA | None:
    """The byte automaton of `r` (None: it matches nothing)."""
    nodes = Nodes()
    root = to_nodes(r, nodes)
    return None if root == 0 else LazyDFA(nodes, root)


def matches(r: Regex, text: str) -> bool:
    """Whether `text` is in the language of `r` (a full match). A string holding a lone surrogate
    matches nothing: the automata read UTF-8, which has no spelling for it."""
    dfa = _automaton(r)
    if dfa is None:
        return False
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    rows, state = dfa.rows, 0
    for byte in data:
        state = rows[state][byte]
        if state < 0:
            return False
    return dfa.accepting[state]
