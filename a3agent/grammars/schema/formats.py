"""The `format` values the compiler enforces, each an exact regular language.

- date, time, date-time: RFC 3339 (`full-date`, `full-time`, `date-time`), with days per month and
  February 29 only in leap years; `T`/`Z` either case. A leap second is a UTC time of 23:59:60;
  only its UTC spellings are accepted (`23:59:60Z`, `+00:00`, `-00:00`): written at another offset
  (`15:59:60-08:00`) the DFA would need a state per minute of the day, so those rare valid texts
  are rejected, never the other way round.
- email: RFC 5321 `Mailbox`: dot-atom or quoted local part; a host name (labels of at most 63
  characters) or an IPv4 / `IPv6:` address literal.
- uuid: RFC 4122 text form, any version, hex in either case.
- uri: RFC 3986 `URI` (absolute, with scheme), IP literals included.
- ipv4: dotted quad without leading zeros; ipv6: RFC 4291 text forms (no zone id).

Any other format is refused by the schema compiler rather than ignored.
"""

from __future__ import annotations

from functools import cache

from a3agent.grammars.regex.char_regex import Regex
from a3agent.grammars.regex.ecma_regex import full_match_language

__all__ = ["FORMATS", "format_language"]

_MONTH_31 = r"(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])"
_MONTH_30 = r"(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
_FEBRUARY = r"02-(?:0[1-9]|1\d|2[0-8])"
_LEAP_YEAR = r"(?:\d\d(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DATE = rf"(?:\d{{4}}-(?:{_MONTH_31}|{_MONTH_30}|{_FEBRUARY})|{_LEAP_YEAR}-02-29)"
_SECFRAC = r"(?:\.\d+)?"
_OFFSET = r"(?:[zZ]|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
_TIME = rf"(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d{_SECFRAC}{_OFFSET}|23:59:60{_SECFRAC}(?:[zZ]|[+-]00:00))"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = r"[0-9a-fA-F]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "(?:" + "|".join([
    rf"(?:{_H16}:){{6}}{_LS32}",
    rf"::(?:{_H16}:){{5}}{_LS32}",
    rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9a-fA-F]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"
    rf"(?:\[(?:{_IPV6}|v[0-9a-fA-F]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]|(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*)"
    r"(?::\d*)?"
)
_HIER_PART = rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|{_PCHAR}+(?:/{_PCHAR}*)*|)"
_URI = rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER_PART}(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_EMAIL_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
_ATOM = r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"
_QUOTED_STRING = r'"(?:[ !#-\[\]-~]|\\[ -~])*"'
_EMAIL = (rf"(?:{_ATOM}(?:\.{_ATOM})*|{_QUOTED_STRING})"
          rf"@(?:{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL})*|\[(?:{_IPV4}|IPv6:{_IPV6})\])")

FORMATS: dict[str, str] = {
    "date": _DATE,
    "time": _TIME,
    "date-time": rf"{_DATE}[tT]{_TIME}",
    "email": _EMAIL,
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "uri": _URI,
    "ipv4": _IPV4,
    "ipv6": _IPV6,
}
"""Format name -> full-match ECMA-262 pattern of its strings."""


@cache
def format_language(name: str) -> Regex | None:
    """The strings of format `name`, or None for a format the compiler does not know."""
    pattern = FORMATS.get(name)
    return None if pattern is None else full_match_language(pattern)
