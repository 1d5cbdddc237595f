"""Which texts a JSON integer or number may be written as, given bounds and steps.

The accepted text forms (what a model may emit, and what json.dumps writes):

- integer: `0|-?[1-9][0-9]*` only: no `-0`, no `1.0`, no exponent (json.dumps of an int).
- number without bounds or steps: the full JSON number syntax, exponents included.
- number with bounds: plain decimals `-?(0|[1-9][0-9]*)(\\.[0-9]+)?` whose exact value is in range,
  plus the exponent forms json.dumps writes for tiny (|x| < 1e-4, `1e-05`) and huge (|x| >= 1e16,
  `1e+16`) values whose exact value is in range (`1e-05` within `minimum: 1e-05`, not `9e-06`).
- with `multipleOf` (or `not: {multipleOf}`): plain decimals only, exact decimal arithmetic (no
  float rounding): `0.07` is a multiple of `0.01`.

Bounds are exact: [lo, hi] is split on the sign, the integer part (digit ranges) and the fraction
digits (compared digit by digit). Steps go through a divisibility automaton intersected with the
range, or are enumerated when the range holds few multiples.

Not handled here: exponent forms outside the two regions above (`1e2` for 100), and `not` of
bounds (`normalizer` turns it into bounds).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import ceil, floor, gcd

from a3agent.grammars.regex.char_regex import (
    EMPTY,
    NOTHING,
    Regex,
    alt,
    char_set,
    literal,
    optional,
    repeat,
    seq,
)
from a3agent.grammars.regex.digit_ranges import digit_class, natural_range
from interegular.fsm import FSM

from a3agent.grammars.regex.regular import TooComplex, fsm_from_table, from_fsm, intersect, minimal, to_fsm

__all__ = [
    "Bound",
    "INTEGER_TEXT",
    "NUMBER_TEXT",
    "integer_texts",
    "number_texts",
    "step_lcm",
    "numeric_language",
]

Bound = tuple[Fraction, bool]
"""A bound on a value: (value, exclusive)."""

_DIGIT = digit_class(0, 9)
_DIGITS = repeat(_DIGIT, 1, None)
_NATURAL = alt(literal("0"), seq(digit_class(1, 9), repeat(_DIGIT, 0, None)))
_FRACTION = optional(seq(literal("."), _DIGITS))
_EXPONENT = seq(char_set("eE"), optional(char_set("+-")), _DIGITS)
INTEGER_TEXT = alt(literal("0"), seq(optional(literal("-")), digit_class(1, 9), repeat(_DIGIT, 0, None)))
NUMBER_TEXT = seq(optional(literal("-")), _NATURAL, _FRACTION, optional(_EXPONENT))
_MANTISSA = seq(digit_class(1, 9), _FRACTION)
_ENUMERATION_LIMIT = 256
_MAX_MODULAR_STATES = 4000


# -- integers ---------------------------------------------------------------------------------


def integer_texts(lo: int | None, hi: int | None) -> Regex:
    """Canonical integer texts in [lo, hi] (None: unbounded). Example: `integer_texts(-3, 12)`."""
    positive = natural_range(max(lo or 0, 0), hi) if hi is None or hi >= 0 else NOTHING
    negative: Regex = NOTHING
    if lo is None or lo < 0:
        negative = seq(literal("-"), natural_range(max(1, -hi if hi is not None else 1), None if lo is None else -lo))
    return alt(positive, negative)


def _integer_bounds(lo: Bound | None, hi: Bound | None) -> tuple[int | None, int | None]:
    low = None if lo is None else (floor(lo[0]) + 1 if lo[1] else ceil(lo[0]))
    high = None if hi is None else (ceil(hi[0]) - 1 if hi[1] else floor(hi[0]))
    return low, high


# -- decimals ---------------------------------------------------------------------------------

_Tail = tuple[str, bool] | None
"""A bound on the rest of a fraction, as (remaining digits, strict); None: no bound."""


def _split(value: Fraction) -> tuple[int, str]:
    """Integer part and fraction digits (no trailing zeros) of a non-negative finite decimal."""
    whole = floor(value)
    rest, digits = value - whole, ""
    while rest:
        rest *= 10
        digits += str(floor(rest))
        rest -= floor(rest)
    return whole, digits


def _tail(digits: str, strict: bool) -> _Tail:
    return None if not digits and not strict else (digits, strict)


def _zero_fits(lower: _Tail, upper: _Tail) -> bool:
    return lower is None and (upper is None or upper[0] != "" or not upper[1])


def _fraction_digits(lower: _Tail, upper: _Tail) -> Regex:
    """Non-empty digit strings t with 0.t within the bounds."""
    if upper is not None and upper[0] == "":
        return repeat(literal("0"), 1, None) if lower is None and not upper[1] else NOTHING
    if upper is None and lower is None:
        return _DIGITS
    if upper is None and lower == ("", True):
        return seq(repeat(literal("0"), 0, None), digit_class(1, 9), repeat(_DIGIT, 0, None))
    groups: dict[tuple[_Tail, _Tail], list[int]] = {}
    for d in range(10):
        next_lower = _next_tail(lower, d, is_lower=True)
        next_upper = _next_tail(upper, d, is_lower=False)
        if not isinstance(next_lower, str) and not isinstance(next_upper, str):  # a str is "dead"
            groups.setdefault((next_lower, next_upper), []).append(d)
    return alt(*(
        seq(alt(*(digit_class(d, d) for d in ds)), _continuation(nl, nu)) for (nl, nu), ds in groups.items()
    ))


def _next_tail(bound: _Tail, digit: int, is_lower: bool) -> _Tail | str:
    """The bound left for the digits after `digit` ('dead': `digit` already breaks it)."""
    if bound is None:
        return None
    digits, strict = bound
    first = int(digits[0]) if digits else 0
    if digit == first:
        # an upper bound read to its last digit still bounds the rest: only zeros may follow
        # (1.5 admits 1.50, not 1.51); a lower one read whole admits anything after it
        return _tail(digits[1:], strict) if is_lower else (digits[1:], strict)
    beyond = digit < first if is_lower else digit > first
    return "dead" if beyond else None


def _continuation(lower: _Tail, upper: _Tail) -> Regex:
    return alt(EMPTY if _zero_fits(lower, upper) else NOTHING, _fraction_digits(lower, upper))


def _fraction_part(lower: _Tail, upper: _Tail) -> Regex:
    """`(\\.digits)?` with the value of the fraction within the bounds."""
    return alt(EMPTY if _zero_fits(lower, upper) else NOTHING, seq(literal("."), _fraction_digits(lower, upper)))


def _magnitudes(lower: Bound, upper: Bound | None) -> Regex:
    """Plain unsigned decimal texts in range; lower is >= 0."""
    if upper is not None and (lower[0] > upper[0] or (lower[0] == upper[0] and (lower[1] or upper[1]))):
        return NOTHING
    low_whole, low_digits = _split(lower[0])
    low_tail = _tail(low_digits, lower[1])
    if upper is None:
        return alt(seq(literal(str(low_whole)), _fraction_part(low_tail, None)),
                   seq(natural_range(low_whole + 1, None), _FRACTION))
    high_whole, high_digits = _split(upper[0])
    high_tail = (high_digits, upper[1])
    if low_whole == high_whole:
        return seq(literal(str(low_whole)), _fraction_part(low_tail, high_tail))
    return alt(
        seq(literal(str(low_whole)), _fraction_part(low_tail, None)),
        seq(natural_range(low_whole + 1, high_whole - 1), _FRACTION),
        seq(literal(str(high_whole)), _fraction_part(None, high_tail)),
    )


def _decimal_texts(lo: Bound | None, hi: Bound | None) -> Regex:
    zero = (Fraction(0), False)
    positive: Regex = NOTHING
    if hi is None or hi[0] > 0 or (hi[0] == 0 and not hi[1]):
        positive = _magnitudes(lo if lo is not None and lo[0] >= 0 else zero, hi)
    negative: Regex = NOTHING
    if lo is None or lo[0] < 0 or (lo[0] == 0 and not lo[1]):
        low = (-hi[0], hi[1]) if hi is not None and hi[0] <= 0 else zero
        negative = seq(literal("-"), _magnitudes(low, None if lo is None else (-lo[0], lo[1])))
    return alt(positive, negative)


def _floor_log10(x: Fraction) -> int:
    """The k with 10**k <= x < 10**(k + 1), exactly (x > 0)."""
    k = int((x.numerator.bit_length() - x.denominator.bit_length()) * 0.30103)  # log10(2), off by one at most
    while Fraction(10) ** k > x:
        k -= 1
    while Fraction(10) ** (k + 1) <= x:
        k += 1
    return k


def _scientific(bound: Bound | None) -> tuple[int, Fraction, bool] | None:
    """A positive bound as (power of ten k, mantissa in [1, 10), exclusive)."""
    if bound is None:
        return None
    k = _floor_log10(bound[0])
    return k, bound[0] / Fraction(10) ** k, bound[1]


def _exponent_texts(lo: Bound | None, hi: Bound | None, tiny: bool) -> Regex:
    """Positive values of one json.dumps exponent region within [lo, hi] (lo > 0 or None): tiny
    (0, 1e-4) is `M e-E` with E >= 5, huge [1e16, inf) is `M e+E` with E >= 16; M in [1, 10) as a
    plain decimal, E with leading zeros allowed. Exact: at most the two powers of ten holding a
    bound get a bounded mantissa, the exponents between them any mantissa."""
    first, last = (None, -5) if tiny else (16, None)  # the region's powers of ten (None: unbounded)
    low, high = _scientific(lo), _scientific(hi)
    if low is not None and first is not None and low[0] < first:
        low = None  # the bound lies below the region: all of it from its start
    if high is not None and last is not None and high[0] > last:
        high = None
    if (low is not None and last is not None and low[0] > last) or (high is not None and first is not None and high[0] < first):
        return NOTHING
    if low is not None and high is not None and low[0] > high[0]:
        return NOTHING
    branches: list[tuple[int | None, int | None, Regex]] = []  # (first power, last power, mantissa)
    if low is not None and high is not None and low[0] == high[0]:
        branches.append((low[0], low[0], _magnitudes((low[1], low[2]), (high[1], high[2]))))
    else:
        if low is not None:
            branches.append((low[0], low[0], _magnitudes((low[1], low[2]), (Fraction(10), True))))
        if high is not None:
            branches.append((high[0], high[0], _magnitudes((Fraction(1), False), (high[1], high[2]))))
        whole_from = first if low is None else low[0] + 1
        whole_to = last if high is None else high[0] - 1
        if whole_from is None or whole_to is None or whole_from <= whole_to:
            branches.append((whole_from, whole_to, _MANTISSA))
    forms = []
    for k_from, k_to, mantissa in branches:
        if tiny:  # E = -k, from -k_to up to -k_from (unbounded when k_from is)
            assert k_to is not None, "the tiny region ends at 1e-5"
            exponent = natural_range(-k_to, None if k_from is None else -k_from)
            sign: Regex = literal("-")
        else:
            assert k_from is not None, "the huge region starts at 1e16"
            exponent = natural_range(k_from, k_to)
            sign = optional(literal("+"))
        forms.append(seq(mantissa, char_set("eE"), sign, repeat(literal("0"), 0, None), exponent))
    return alt(*forms)


def _exponent_forms(lo: Bound | None, hi: Bound | None, regions: tuple[bool, ...] = (True, False)) -> list[Regex]:
    """The json.dumps exponent forms of the values in range: tiny (|x| < 1e-4) and huge (|x| >= 1e16),
    either sign (`regions`: which of the two, as `_exponent_texts`' `tiny`)."""
    forms = []
    if hi is None or hi[0] > 0:  # positive values
        positive_lo = lo if lo is not None and lo[0] > 0 else None
        forms += [_exponent_texts(positive_lo, hi, tiny=tiny) for tiny in regions]
    if lo is None or lo[0] < 0:  # negative values, as their magnitudes
        magnitude_lo = (-hi[0], hi[1]) if hi is not None and hi[0] < 0 else None
        magnitude_hi = None if lo is None else (-lo[0], lo[1])
        forms += [seq(literal("-"), _exponent_texts(magnitude_lo, magnitude_hi, tiny=tiny)) for tiny in regions]
    return forms


def number_texts(lo: Bound | None, hi: Bound | None) -> Regex:
    """Number texts with value in range, in the forms listed in the module docstring."""
    if lo is None and hi is None:
        return NUMBER_TEXT
    return alt(_decimal_texts(lo, hi), *_exponent_forms(lo, hi))


# -- steps (multipleOf) -----------------------------------------------------------------------


def step_lcm(a: Fraction, b: Fraction) -> Fraction:
    """Least common multiple of two positive rationals. Example: `step_lcm(Fraction(5, 2), 1) == 5`."""
    return Fraction(a.numerator * b.numerator // gcd(a.numerator, b.numerator),
                    gcd(a.denominator, b.denominator))


def _decimal_places(step: Fraction) -> int:
    places = 0
    while (step * 10**places).denominator != 1:
        places += 1
    return places


def _steps_fsm(step: Fraction | None, avoid: tuple[Fraction, ...], integer: bool) -> FSM:
    """DFA of plain decimal texts that are multiples of `step` and of none of `avoid`.

    One automaton over the value's digits modulo the lcm of all steps (scaled to integers by the
    most decimal places among them), rather than a product of one automaton per step.
    Raises TooComplex when that modulus is too large.
    """
    steps = ([step] if step is not None else []) + list(avoid)
    places = max(_decimal_places(x) for x in steps)
    scaled_step = int(step * 10**places) if step is not None else 1
    scaled_avoid = [int(a * 10**places) for a in avoid]
    modulus = 1
    for x in [scaled_step, *scaled_avoid]:
        modulus = modulus * x // gcd(modulus, x)
    if modulus * (places + 2) > _MAX_MODULAR_STATES:
        raise TooComplex(f"multipleOf needs a remainder automaton of {modulus * (places + 2)} states")

    def accepted(r: int) -> bool:
        return r % scaled_step == 0 and all(r % a for a in scaled_avoid)

    cap = max(places, 1)
    table: dict[object, dict[str, object]] = {"start": {"-": "sign"}, "sign": {}, "zero": {}}
    for state in ("start", "sign"):
        if state == "start" or not integer:
            table[state]["0"] = "zero"
        table[state].update({str(d): ("int", d % modulus) for d in range(1, 10)})
    finals: set = {"zero"} if accepted(0) else set()
    table["beyond"] = {str(d): "beyond" for d in range(10)}
    if step is None:
        finals.add("beyond")
    for r in range(modulus):
        table[("int", r)] = {str(d): ("int", (10 * r + d) % modulus) for d in range(10)}
        if accepted(r * 10**places % modulus):
            finals.add(("int", r))
        if not integer:
            table[("int", r)]["."] = ("frac", r, 0)
        for j in range(cap + 1):
            row: dict[str, object]
            if j < places:
                row = {str(d): ("frac", (10 * r + d) % modulus, j + 1) for d in range(10)}
            else:
                row = {"0": ("frac", r, min(j + 1, cap)), **{str(d): "beyond" for d in range(1, 10)}}
            table[("frac", r, j)] = row
            if j >= 1 and accepted(r * 10 ** (places - min(j, places)) % modulus):
                finals.add(("frac", r, j))
    if not integer:
        table["zero"]["."] = ("frac", 0, 0)
    return fsm_from_table("0123456789-.", "start", finals, table)


def _enumerate(integer: bool, low: Fraction, high: Fraction, step: Fraction, avoid: tuple[Fraction, ...]) -> Regex:
    values = [k * step for k in range(ceil(low / step), floor(high / step) + 1)]
    texts = []
    for v in values:
        if any((v / s).denominator == 1 for s in avoid):
            continue
        whole, digits = _split(abs(v))
        sign = literal("-") if v < 0 else EMPTY
        if integer:
            texts.append(seq(sign, literal(str(whole))))
        elif digits:
            texts.append(seq(sign, literal(f"{whole}.{digits}"), repeat(literal("0"), 0, None)))
        else:
            zero_sign = optional(literal("-")) if v == 0 else sign
            texts.append(seq(zero_sign, literal(str(whole)), optional(seq(literal("."), repeat(literal("0"), 1, None)))))
    return alt(*texts)


_TINY = Fraction(1, 10**4)
"""Where json.dumps starts writing a positive number in exponent form, going down."""


@lru_cache(maxsize=512)
def numeric_language(
    integer: bool,
    lo: Bound | None,
    hi: Bound | None,
    step: Fraction | None = None,
    avoid: tuple[Fraction, ...] = (),
) -> Regex | FSM:
    """Texts of integers (or numbers) in range, multiples of `step`, multiples of none of `avoid`.

    A DFA instead of a regex when the combination has no regex of reasonable size (multiples of 7
    over all integers need thousands of regex nodes but only 7 states). Raises TooComplex when
    even the DFA would be too large. Memoised: bounds like `minimum: 0` recur across schemas (the
    FSM is shared; nothing changes it).
    """
    if integer:
        step = step_lcm(step, Fraction(1)) if step is not None else None
        avoid = tuple(step_lcm(s, Fraction(1)) for s in avoid)
        lo_i, hi_i = _integer_bounds(lo, hi)
        lo = None if lo_i is None else (Fraction(lo_i), False)
        hi = None if hi_i is None else (Fraction(hi_i), False)
        if lo_i is not None and hi_i is not None and lo_i > hi_i:
            return NOTHING
    if step is None and not avoid:
        if integer:
            return INTEGER_TEXT if lo is None and hi is None else integer_texts(*_integer_bounds(lo, hi))
        return number_texts(lo, hi)
    if lo is not None and hi is not None and step is not None:
        low = lo[0] + (step if lo[1] and (lo[0] / step).denominator == 1 else 0)
        high = hi[0] - (step if hi[1] and (hi[0] / step).denominator == 1 else 0)
        if (high - low) / step <= _ENUMERATION_LIMIT:
            return _enumerate(integer, low, high, step, avoid)
    texts = integer_texts(*_integer_bounds(lo, hi)) if integer else _decimal_texts(lo, hi)
    fsm = intersect(to_fsm(texts), _steps_fsm(step, avoid, integer))
    try:
        plain = from_fsm(fsm)
    except TooComplex:
        return minimal(fsm)  # exponent forms left out (refused, never wrongly taken)
    if integer or step is not None or min(avoid) < _TINY:
        return plain
    # "a multiple of none of `avoid`" alone: a tiny value (0 < |x| < 1e-4, json.dumps' `1e-05`)
    # is a multiple of no step of at least 1e-4 (`not: {type: integer}`)
    return alt(plain, *_exponent_forms(lo, hi, regions=(True,)))
