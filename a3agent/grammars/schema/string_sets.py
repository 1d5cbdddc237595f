"""Sets of strings described by conjunctions of constraints, turned into one exact regex.

A JSON Schema string (or object key) can be constrained at once by lengths, several patterns
(allOf), formats, negated patterns (`not`), excluded literals (declared property names) and a
finite list of allowed values (`enum`). `StringSet` keeps these as a conjunction, answers
membership for single strings, and produces the decoded-character regex of the whole set: by
cheap constructions where one exists (a trie for "any string but these", a length-bounded
repetition, a single pattern whose lengths already fit) and by DFA intersection otherwise.

Not handled here: how the regex is spelled inside JSON (`json_text`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from a3agent.grammars.regex.char_regex import (
    ANY_CHAR,
    EMPTY,
    NOTHING,
    Regex,
    alt,
    char_set,
    complement,
    length_bounds,
    literal,
    repeat,
    seq,
)
from interegular.fsm import FSM

from a3agent.grammars.regex.matching import matches
from a3agent.grammars.regex.regular import TooComplex, everything_but, from_fsm, intersect, minimal, to_fsm

__all__ = ["StringSet", "ANY_STRING", "strings_except"]


def strings_except(words: frozenset[str]) -> Regex:
    """Every string except `words`, from the trie of the words. Example: `strings_except({"a"})`.

    A string outside the set either leaves the trie somewhere (then anything may follow, so
    `.*` is written once, at the end) or stops at a trie node that ends no word.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[None] = True
    return alt(seq(_leaving(trie), repeat(ANY_CHAR, 0, None)), _unfinished(trie))


def _children(node: dict) -> list[str]:
    return sorted(k for k in node if k is not None)


def _leaving(node: dict) -> Regex:
    """Paths down the trie ending with a character that leaves it."""
    kids = _children(node)
    return alt(complement(char_set("".join(kids))), *(seq(literal(ch), _leaving(node[ch])) for ch in kids))


def _unfinished(node: dict) -> Regex:
    """Paths down the trie ending at a node that ends no word."""
    kids = _children(node)
    return alt(NOTHING if None in node else EMPTY, *(seq(literal(ch), _unfinished(node[ch])) for ch in kids))


@dataclass(frozen=True)
class StringSet:
    """The strings satisfying every constraint at once."""

    min_length: int = 0
    max_length: int | None = None
    patterns: tuple[Regex, ...] = ()
    """Full-match languages every string must be in (patterns already widened to search)."""
    excluded: tuple[Regex, ...] = ()
    """Languages no string may be in (from `not`)."""
    banned: frozenset[str] = frozenset()
    """Exact strings left out (declared property names, `not: {enum}`)."""
    only: frozenset[str] | None = None
    """When set, the finite set of allowed strings (`enum`, `const`)."""

    def intersect(self, other: StringSet) -> StringSet:
        """Strings in both sets."""
        only = self.only if other.only is None else other.only if self.only is None else self.only & other.only
        return StringSet(
            max(self.min_length, other.min_length),
            _min_optional(self.max_length, other.max_length),
            self.patterns + tuple(p for p in other.patterns if p not in self.patterns),
            self.excluded + tuple(e for e in other.excluded if e not in self.excluded),
            self.banned | other.banned,
            only,
        )

    def without(self, words: frozenset[str]) -> StringSet:
        """The same set minus `words`."""
        return replace(self, banned=self.banned | words)

    def __contains__(self, text: str) -> bool:
        if self.only is not None and text not in self.only:
            return False
        if text in self.banned or len(text) < self.min_length:
            return False
        if self.max_length is not None and len(text) > self.max_length:
            return False
        return all(matches(p, text) for p in self.patterns) and not any(matches(e, text) for e in self.excluded)

    def finite(self) -> list[str] | None:
        """The allowed strings in order, when the set is a finite list; else None."""
        return None if self.only is None else sorted(s for s in self.only if s in self)

    def excludes_only_words(self) -> bool:
        """Whether the set is every string but `banned` (declared property names, typically)."""
        return (self.only is None and not self.patterns and not self.excluded
                and self.min_length == 0 and self.max_length is None)

    @cached_property
    def language(self) -> Regex:
        """A decoded-character regex for the set (not for finite sets). Raises regular.TooComplex."""
        lengths = repeat(ANY_CHAR, self.min_length, self.max_length)
        if not self.patterns and not self.excluded and not self.banned:
            return lengths
        if self.excludes_only_words():
            return strings_except(self.banned)
        if len(self.patterns) == 1 and not self.excluded and not self.banned:
            low, high = length_bounds(self.patterns[0])
            fits_high = self.max_length is None or (high is not None and high <= self.max_length)
            if low >= self.min_length and fits_high:
                return self.patterns[0]
        return from_fsm(self.fsm())

    def fsm(self) -> FSM:
        """A DFA for the set (not for finite sets). Raises TooComplex for huge length bounds."""
        if max(self.min_length, self.max_length or 0) > _MAX_COMBINED_LENGTH:
            raise TooComplex(f"length bounds over {_MAX_COMBINED_LENGTH} combined with other string constraints")
        parts = [to_fsm(repeat(ANY_CHAR, self.min_length, self.max_length))]
        parts += [to_fsm(p) for p in self.patterns]
        parts += [everything_but(to_fsm(e)) for e in self.excluded]
        if self.banned:
            parts.append(to_fsm(strings_except(self.banned)))
        return _product(parts)

    def is_empty(self) -> bool:
        """Whether no string satisfies every constraint."""
        if self.only is not None:
            return not self.finite()
        if self.max_length is not None and self.max_length < self.min_length:
            return True
        if self.excludes_only_words():  # infinitely many strings; no regex (nesting per character) needed
            return False
        return self.language == NOTHING


ANY_STRING = StringSet()
_MAX_COMBINED_LENGTH = 512


def _min_optional(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _product(parts: list[FSM]) -> FSM:
    """The intersection of `parts`, two at a time from the smallest, each step minimised: an
    `allOf` of `anyOf`s of patterns becomes dozens of string sets of six or more automata each,
    whose product explored at once (every state a tuple of six) cost MaskBench's `allany13` a
    second of its two. Should a step pass the product bound where the whole would not (a later
    part that cuts the language down), the whole is explored at once instead."""
    ordered = sorted(parts, key=lambda part: len(part.states))
    product = ordered[0]
    try:
        for part in ordered[1:]:
            product = minimal(intersect(product, part))
    except TooComplex:
        return intersect(*parts)
    return product
