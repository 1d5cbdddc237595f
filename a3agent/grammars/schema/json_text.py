"""How decoded strings are written inside JSON text, as regexes over that text.

String constraints are stated on decoded characters; the grammar matches JSON text. A decoded
character may be written raw (when JSON allows it raw), as a short escape (`\\"` `\\\\` `\\/`
`\\b` `\\f` `\\n` `\\r` `\\t`), or as `\\uXXXX` (hex in either case; beyond U+FFFF
as a surrogate pair) -- except that printable ASCII is never accepted as `\\uXXXX`: json.dumps
never writes it so (with `ensure_ascii` on or off), and keeping it out keeps property names and
enum values fixed text, which the engine forces without sampling. Each spelling is one
character, so lengths count decoded characters as JSON Schema requires. Lone surrogate escapes
are refused: they are not characters.

The spellings are memoised in bounded caches (every schema brings new key names and character
sets: an unbounded memo would grow with each one, and its regex nodes would lengthen every full
garbage collection).

Not handled here: what the sets are (`string_sets`), raw values of the qwen3-xml dialect.
"""

from __future__ import annotations

from functools import lru_cache

from a3agent.grammars.regex.char_regex import (
    ANY_CHAR,
    Alt,
    Chars,
    Regex,
    Repeat,
    Seq,
    alt,
    char_set,
    chars,
    intersect_chars,
    literal,
    repeat,
    seq,
)
from a3agent.grammars.regex.digit_ranges import fixed_width_range

__all__ = ["json_chars", "json_char_spellings", "encode_json", "json_string", "json_literal", "ANY_JSON_STRING"]

_SHORT_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_RAW_OK = chars((0x20, 0x21), (0x23, 0x5B), (0x5D, 0x10FFFF))
_BMP_ESCAPABLE = chars((0, 0x1F), (0x7F, 0xD7FF), (0xE000, 0xFFFF))
_ASTRAL = chars((0x10000, 0x10FFFF))
_LOW_SURROGATES = (0xDC00, 0xDFFF)


@lru_cache(maxsize=1024)
def _hex4(lo: int, hi: int) -> Regex:
    return fixed_width_range(lo, hi, 4, 16)


@lru_cache(maxsize=256)
def _escapes(short: str, bmp: tuple[tuple[int, int], ...], astral: tuple[tuple[int, int], ...]) -> tuple[Regex, ...]:
    """The escaped spellings of a character set, by its parts (memoised apart from the set: most
    sets escape alike, and the trees shared between them are fewer objects for every collection
    of Python's garbage collector to walk)."""
    return (
        seq(literal("\\"), char_set(short)) if short else alt(),
        seq(literal("\\u"), alt(*(_hex4(lo, hi) for lo, hi in bmp))) if bmp else alt(),
        *(_surrogate_pairs(lo, hi) for lo, hi in astral),
    )


def _surrogate_pairs(lo: int, hi: int) -> Regex:
    """`\\uHHHH\\uLLLL` for the code points lo..hi beyond U+FFFF."""
    def split(code: int) -> tuple[int, int]:
        return 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)

    (hi_a, lo_a), (hi_b, lo_b) = split(lo), split(hi)
    escape = literal("\\u")
    if hi_a == hi_b:
        return seq(escape, _hex4(hi_a, hi_a), escape, _hex4(lo_a, lo_b))
    first = hi_a if lo_a == _LOW_SURROGATES[0] else hi_a + 1
    last = hi_b if lo_b == _LOW_SURROGATES[1] else hi_b - 1
    return alt(
        seq(escape, _hex4(hi_a, hi_a), escape, _hex4(lo_a, _LOW_SURROGATES[1])) if first > hi_a else alt(),
        seq(escape, _hex4(first, last), escape, _hex4(*_LOW_SURROGATES)) if first <= last else alt(),
        seq(escape, _hex4(hi_b, hi_b), escape, _hex4(_LOW_SURROGATES[0], lo_b)) if last < hi_b else alt(),
    )


@lru_cache(maxsize=256)
def json_chars(c: Chars) -> Regex:
    """One decoded character of `c`, in any of its JSON spellings. Example: `json_chars(char_set("a"))`."""
    return alt(*json_char_spellings(c))


@lru_cache(maxsize=256)
def json_char_spellings(c: Chars) -> tuple[Regex, ...]:
    """`json_chars(c)` as its separate alternatives: raw characters, short escapes, `\\uXXXX`,
    surrogate pairs (the escape parts of most character sets are the same regex, so a grammar
    can share their terminals)."""
    short = "".join(letter for ch, letter in _SHORT_ESCAPES.items() if ord(ch) in c)
    bmp = intersect_chars(c, _BMP_ESCAPABLE)
    astral = intersect_chars(c, _ASTRAL)
    parts = [intersect_chars(c, _RAW_OK), *_escapes(short, bmp.ranges, astral.ranges)]
    return tuple(part for part in parts if part not in (alt(), Chars(())))


def encode_json(r: Regex) -> Regex:
    """`r` over decoded characters, rewritten over their JSON spellings (no quotes)."""
    if isinstance(r, Chars):
        return json_chars(r)
    if isinstance(r, Seq):
        return seq(*(encode_json(x) for x in r.items))
    if isinstance(r, Alt):
        return alt(*(encode_json(x) for x in r.items))
    assert isinstance(r, Repeat)
    return repeat(encode_json(r.item), r.min, r.max)


def json_string(r: Regex) -> Regex:
    """The quoted JSON strings whose decoded value matches `r`."""
    return seq(literal('"'), encode_json(r), literal('"'))


@lru_cache(maxsize=512)
def json_literal(text: str) -> Regex:
    """The quoted JSON spellings of exactly `text` (printable ASCII stays fixed text)."""
    return json_string(literal(text))


ANY_JSON_STRING = json_string(repeat(ANY_CHAR, 0, None))
