"""Exact regexes for ranges of digit strings, built digit by digit.

Used for integer bounds (`minimum`/`maximum` on integers), the integer part of decimal bounds, and
the four hex digits of JSON `\\uXXXX` escapes. The classic construction: split [lo, hi] on the
leading digit into a partial low branch, a free middle and a partial high branch.

Not handled here: signs, fractions and exponents (`number_text`).
"""

from __future__ import annotations

from a3agent.grammars.regex.char_regex import EMPTY, NOTHING, Chars, Regex, alt, chars, repeat, seq

__all__ = ["digit_class", "fixed_width_range", "natural_range"]

_HEX_LETTERS = 10


def digit_class(lo: int, hi: int, base: int = 10) -> Chars:
    """Digits lo..hi of `base`; hex letters match in either case. Example: `digit_class(10, 15, 16)`."""
    ranges = []
    if lo <= min(hi, 9):
        ranges.append((ord("0") + lo, ord("0") + min(hi, 9)))
    if base > 10 and hi >= _HEX_LETTERS:
        first, last = max(lo, _HEX_LETTERS) - _HEX_LETTERS, hi - _HEX_LETTERS
        ranges += [(ord("a") + first, ord("a") + last), (ord("A") + first, ord("A") + last)]
    return chars(*ranges)


def _digits(value: int, width: int, base: int) -> list[int]:
    out = []
    for _ in range(width):
        value, d = divmod(value, base)
        out.append(d)
    return out[::-1]


def _range_digits(lo: list[int], hi: list[int], base: int) -> Regex:
    """Digit strings of len(lo) == len(hi) between lo and hi (inclusive, lexicographic)."""
    if not lo:
        return EMPTY
    top = base - 1
    if all(d == 0 for d in lo) and all(d == top for d in hi):
        return repeat(digit_class(0, top, base), len(lo), len(lo))
    if lo[0] == hi[0]:
        return seq(digit_class(lo[0], lo[0], base), _range_digits(lo[1:], hi[1:], base))
    low_full = all(d == 0 for d in lo[1:])
    high_full = all(d == top for d in hi[1:])
    any_rest = repeat(digit_class(0, top, base), len(lo) - 1, len(lo) - 1)
    first = lo[0] if low_full else lo[0] + 1
    last = hi[0] if high_full else hi[0] - 1
    branches = []
    if not low_full:
        branches.append(seq(digit_class(lo[0], lo[0], base), _range_digits(lo[1:], [top] * (len(lo) - 1), base)))
    if first <= last:
        branches.append(seq(digit_class(first, last, base), any_rest))
    if not high_full:
        branches.append(seq(digit_class(hi[0], hi[0], base), _range_digits([0] * (len(hi) - 1), hi[1:], base)))
    return alt(*branches)


def fixed_width_range(lo: int, hi: int, width: int, base: int = 10) -> Regex:
    """Exactly `width` digits (leading zeros included) whose value is in [lo, hi].

    Example: `fixed_width_range(0x00, 0x1F, 4, 16)` matches `0000`..`001f` (any letter case).
    """
    if lo > hi:
        return NOTHING
    return _range_digits(_digits(lo, width, base), _digits(hi, width, base), base)


def natural_range(lo: int, hi: int | None) -> Regex:
    """Decimal naturals without leading zeros in [lo, hi] (`hi=None`: unbounded).

    Example: `natural_range(8, 12)` matches `8|9|1[0-2]`.
    """
    lo = max(lo, 0)
    if hi is not None and lo > hi:
        return NOTHING
    branches = []
    width = len(str(lo))
    last_width = len(str(hi)) if hi is not None else width
    for w in range(width, last_width + 1):
        start = max(lo, 10 ** (w - 1) if w > 1 else 0)
        end = 10**w - 1 if hi is None else min(hi, 10**w - 1)
        branches.append(fixed_width_range(start, end, w))
    if hi is None:
        branches.append(seq(digit_class(1, 9), repeat(digit_class(0, 9), width, None)))
    return alt(*branches)

