"""Regular expressions as data: the common currency of the JSON Schema compiler.

String constraints (pattern, format, length, excluded literals, key languages) and number texts are
built as small immutable trees over characters, combined, and only then rendered as regex text in
the subset the token-mask engine reads (literal chars, escapes, classes, groups, alternation,
quantifiers; no anchors, lookaround, backreferences or flags). Building trees instead of gluing
strings keeps grouping and escaping correct by construction.

Not handled here: parsing ECMA-262 patterns (`ecma_regex`), JSON string escaping (`json_text`),
intersection and complement (`regular`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from a3agent.grammars.engine.byte_regex import Nodes

__all__ = [
    "MAX_CHAR",
    "Chars",
    "Seq",
    "Alt",
    "Repeat",
    "Regex",
    "EMPTY",
    "NOTHING",
    "ANY_CHAR",
    "chars",
    "char_set",
    "literal",
    "seq",
    "alt",
    "repeat",
    "optional",
    "complement",
    "intersect_chars",
    "length_bounds",
    "is_nullable",
    "render",
    "to_pattern",
    "to_nodes",
]

MAX_CHAR = 0x10FFFF


@dataclass(frozen=True)
class Chars:
    """One character out of a set: sorted, disjoint, non-adjacent inclusive code point ranges."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, code: int) -> bool:
        return any(lo <= code <= hi for lo, hi in self.ranges)

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)


@dataclass(frozen=True)
class Seq:
    """Concatenation; `Seq(())` matches only the empty string."""

    items: tuple[Regex, ...]


@dataclass(frozen=True)
class Alt:
    """Alternation; `Alt(())` matches nothing at all."""

    items: tuple[Regex, ...]


@dataclass(frozen=True)
class Repeat:
    """`item` repeated between `min` and `max` times (`max=None`: unbounded)."""

    item: Regex
    min: int
    max: int | None


Regex = Chars | Seq | Alt | Repeat
EMPTY = Seq(())
NOTHING = Alt(())


def _normalise(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] <= r[1]):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def chars(*ranges: tuple[int, int]) -> Chars:
    """A character set from inclusive code point ranges. Example: `chars((48, 57))` is `[0-9]`."""
    return Chars(_normalise(ranges))


def char_set(text: str) -> Chars:
    """The set of the characters in `text`. Example: `char_set("+-")`."""
    return chars(*((ord(c), ord(c)) for c in text))


ANY_CHAR = chars((0, MAX_CHAR))


def complement(c: Chars) -> Chars:
    """Every character not in `c`."""
    gaps, start = [], 0
    for lo, hi in c.ranges:
        gaps.append((start, lo - 1))
        start = hi + 1
    gaps.append((start, MAX_CHAR))
    return chars(*gaps)


def intersect_chars(a: Chars, b: Chars) -> Chars:
    """Characters in both sets."""
    return complement(chars(*complement(a).ranges, *complement(b).ranges))


def literal(text: str) -> Regex:
    """Exactly `text` (linear: a 100k-character `const` is one pass)."""
    if len(text) == 1:
        return _one_char(ord(text))
    return Seq(tuple(_one_char(ord(c)) for c in text))


@lru_cache(maxsize=4096)
def _one_char(code: int) -> Chars:
    return Chars(((code, code),))


def seq(*items: Regex) -> Regex:
    """Concatenation, flattened; any NOTHING (or empty set) makes the whole NOTHING."""
    flat: list[Regex] = []
    for item in items:
        if isinstance(item, Alt) and not item.items or isinstance(item, Chars) and not item.ranges:
            return NOTHING
        flat.extend(item.items if isinstance(item, Seq) else (item,))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def alt(*items: Regex) -> Regex:
    """Alternation, flattened and deduplicated; shared heads and tails are factored out.

    Example: `alt(literal("ab"), literal("ac"))` is `a[bc]`.
    """
    flat: list[Regex] = []
    for item in items:
        for sub in item.items if isinstance(item, Alt) else (item,):
            if sub not in flat and sub != Chars(()):
                flat.append(sub)
    flat = _merge_heads_by_tail(flat)
    flat = _factor_heads(flat)
    if EMPTY in flat and len(flat) > 1:
        flat.remove(EMPTY)
        return optional(alt(*flat))
    return flat[0] if len(flat) == 1 else Alt(tuple(flat))


def _split(r: Regex) -> tuple[Regex, Regex]:
    """(first item, the rest) of a sequence; a lone item has the rest EMPTY."""
    if isinstance(r, Seq) and r.items:
        return r.items[0], (Seq(r.items[1:]) if len(r.items) > 2 else r.items[1])
    return r, EMPTY


def _merge_heads_by_tail(items: list[Regex]) -> list[Regex]:
    """`[ab]X|cX` -> `[abc]X`: alternatives that differ only in a leading character set."""
    groups: dict[Regex, list[Chars]] = {}
    order: list[tuple[bool, Regex]] = []  # (True, tail): the merged heads of that tail; (False, item)
    for item in items:
        head, tail = _split(item)
        if isinstance(head, Chars) and head.ranges:
            if tail not in groups:
                groups[tail] = []
                order.append((True, tail))
            groups[tail].append(head)
        else:
            order.append((False, item))
    out: list[Regex] = []
    for merged, entry in order:
        out.append(seq(chars(*(r for c in groups[entry] for r in c.ranges)), entry) if merged else entry)
    return out


def _factor_heads(items: list[Regex]) -> list[Regex]:
    """`aX|aY` -> `a(?:X|Y)`."""
    groups: dict[Regex, list[Regex]] = {}
    for item in items:
        head, tail = _split(item)
        groups.setdefault(head, []).append(tail)
    if len(groups) == len(items):
        return items
    return [seq(head, alt(*tails)) if len(tails) > 1 else (head if tails[0] == EMPTY else seq(head, tails[0]))
            for head, tails in groups.items()]


def repeat(item: Regex, lo: int, hi: int | None) -> Regex:
    """`item{lo,hi}` with the obvious simplifications."""
    if hi is not None and hi < lo:
        return NOTHING
    if hi == 0 or item == EMPTY:
        return EMPTY
    if item == NOTHING:
        return EMPTY if lo == 0 else NOTHING
    if lo == hi == 1:
        return item
    if isinstance(item, Repeat) and item.max is None and item.min <= 1 and lo <= 1 and (hi is None or lo == 0):
        return Repeat(item.item, min(item.min, lo), None)
    if isinstance(item, Repeat) and item.min == 0 and item.max == 1 and hi is None:
        return Repeat(item.item, 0, None)
    return Repeat(item, lo, hi)


def optional(item: Regex) -> Regex:
    """`item?`."""
    return item if is_nullable(item) else repeat(item, 0, 1)


def length_bounds(r: Regex) -> tuple[int, int | None]:
    """Shortest and longest match length in characters (`None`: unbounded)."""
    if isinstance(r, Chars):
        return 1, 1
    if isinstance(r, Seq):
        lo = 0
        hi: int | None = 0
        for item in r.items:
            a, b = length_bounds(item)
            lo, hi = lo + a, None if hi is None or b is None else hi + b
        return lo, hi
    if isinstance(r, Alt):
        bounds = [length_bounds(x) for x in r.items] or [(0, 0)]
        highs = [b for _, b in bounds if b is not None]
        return min(a for a, _ in bounds), max(highs) if len(highs) == len(bounds) else None
    a, b = length_bounds(r.item)
    return a * r.min, None if r.max is None or b is None else b * r.max


def is_nullable(r: Regex) -> bool:
    """Whether `r` matches the empty string."""
    if isinstance(r, Chars):
        return False
    if isinstance(r, Seq):
        return all(is_nullable(x) for x in r.items)
    if isinstance(r, Alt):
        return any(is_nullable(x) for x in r.items)
    return r.min == 0 or is_nullable(r.item)


# -- rendering --------------------------------------------------------------------------------

_SPECIAL = set("\\.^$*+?()[]{}|/")
_CLASS_SPECIAL = set("\\]^-[/&~|")


def _char(code: int, special: set[str]) -> str:
    """One character as regex text. `"` is always `\\x22`: lark reads `\\\\"` in a `/regex/`
    literal as `\\"`, which would turn an escaped backslash before a quote into a bare quote."""
    c = chr(code)
    if c == '"':
        return "\\x22"
    if code == 0x09:
        return "\\t"
    if code == 0x0A:
        return "\\n"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if c in special:
        return "\\" + c
    if code > 0x7F and code <= 0xFFFF and not c.isprintable():
        return f"\\u{code:04x}"
    return c


def _class(c: Chars) -> str:
    if len(c.ranges) == 1 and c.ranges[0][0] == c.ranges[0][1]:
        return _char(c.ranges[0][0], _SPECIAL)
    inverse = complement(c)
    if not inverse.ranges:
        return "(?:.|\\n)"
    if inverse == char_set("\n"):
        return "."
    negated = len(inverse.ranges) < len(c.ranges) or c.size() > 0xFFFF
    body = "".join(
        _char(lo, _CLASS_SPECIAL) + ("" if hi == lo else "-" if hi > lo + 1 else "") +
        ("" if hi == lo else _char(hi, _CLASS_SPECIAL))
        for lo, hi in (inverse if negated else c).ranges
    )
    return f"[^{body}]" if negated else f"[{body}]"


def _quantifier(r: Repeat) -> str:
    known = {(0, None): "*", (1, None): "+", (0, 1): "?"}
    if (r.min, r.max) in known:
        return known[(r.min, r.max)]
    if r.max is None:
        return f"{{{r.min},}}"
    return f"{{{r.min}}}" if r.min == r.max else f"{{{r.min},{r.max}}}"


def _render(r: Regex, context: str) -> str:
    """`context`: 'top' (alternation allowed bare), 'seq' (inside a sequence), 'atom' (quantified)."""
    if isinstance(r, Chars):
        return _class(r)
    if isinstance(r, Alt):
        text = "|".join(_render(x, "top") for x in r.items)
        return text if context == "top" else f"(?:{text})"
    if isinstance(r, Seq):
        text = "".join(_render(x, "seq") for x in r.items)
        return f"(?:{text})" if context == "atom" else text
    text = _render(r.item, "atom") + _quantifier(r)
    return f"(?:{text})" if context == "atom" else text


def render(r: Regex) -> str:
    """Regex text for `r`, which may match the empty string (not for NOTHING)."""
    return _render(r, "top")


def to_pattern(r: Regex) -> str:
    """Regex text in the engine's subset; `/` is escaped so it drops into a lark `/.../`.

    Raises ValueError for the empty language and for patterns matching the empty string, which no
    terminal may match.
    """
    if r == NOTHING or is_nullable(r):
        raise ValueError("a terminal pattern must match at least one non-empty string")
    return render(r)


def to_nodes(r: Regex, nodes: Nodes) -> int:
    """`r` as a node of the engine's byte regexes (characters as their UTF-8 sequences), for
    automata built without regex text."""
    if isinstance(r, Chars):
        return nodes.chars(r.ranges)
    if isinstance(r, Seq):
        return nodes.seq_all([to_nodes(x, nodes) for x in r.items])
    if isinstance(r, Alt):
        return nodes.alt([to_nodes(x, nodes) for x in r.items])
    return nodes.rep(to_nodes(r.item, nodes), r.min, -1 if r.max is None else r.max)
