"""JSON Schema `pattern` (ECMA-262 regex, search semantics) to an exact character regex.

A JSON Schema pattern matches if it is found anywhere in the string, so `a` stands for
`.*a.*` over all characters and `^a$` for exactly `a`. ECMA meanings are kept, not Python's:
`\\d` is `[0-9]`, `\\w` is ASCII, `.` excludes the four line terminators, `$` is the end of input.
Lazy quantifiers are accepted (they change which match is found, never whether one is).

Refused, with the reason (a `PatternError`): lookaround, backreferences, word boundaries,
Unicode property escapes, flags, and anchors anywhere but the ends of a top-level alternative.
"""

from __future__ import annotations

from dataclasses import dataclass

from a3agent.grammars.regex.char_regex import (
    ANY_CHAR,
    EMPTY,
    Chars,
    Regex,
    alt,
    char_set,
    chars,
    complement,
    repeat,
    seq,
)

__all__ = ["PatternError", "pattern_language", "full_match_language"]

_DIGIT = chars((0x30, 0x39))
_WORD = chars((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_SPACE = chars((0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
              (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF))
_DOT = complement(chars((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)))
_CLASS_ESCAPES = {"d": _DIGIT, "D": complement(_DIGIT), "w": _WORD, "W": complement(_WORD),
                  "s": _SPACE, "S": complement(_SPACE)}
_CONTROL_ESCAPES = {"t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}
_SYNTAX = set("^$\\.*+?()[]{}|/-")


class PatternError(ValueError):
    """A pattern uses a construct with no exact regular translation (or is not valid ECMA-262)."""


@dataclass(frozen=True)
class _Anchor:
    kind: str  # "^" or "$"


_Node = Regex | _Anchor | tuple  # tuples: ("seq", items) / ("alt", items) / ("rep", node, lo, hi)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def take(self, n: int = 1) -> str:
        out = self.text[self.pos:self.pos + n]
        self.pos += n
        return out

    def fail(self, reason: str) -> PatternError:
        return PatternError(f"{reason} (at offset {self.pos} of {self.text!r})")

    def disjunction(self) -> _Node:
        branches = [self.alternative()]
        while self.peek() == "|":
            self.take()
            branches.append(self.alternative())
        return ("alt", branches) if len(branches) > 1 else branches[0]

    def alternative(self) -> _Node:
        items = []
        while self.pos < len(self.text) and self.peek() not in "|)":
            items.append(self.term())
        return ("seq", items)

    def term(self) -> _Node:
        c = self.peek()
        if c in "^$":
            self.take()
            return _Anchor(c)
        if self.peek(2) in ("\\b", "\\B"):
            raise self.fail("word boundary assertions are not supported")
        atom = self.atom()
        return self.quantified(atom)

    def quantified(self, atom: _Node) -> _Node:
        c = self.peek()
        bounds = {"*": (0, None), "+": (1, None), "?": (0, 1)}.get(c)
        if bounds is not None:
            self.take()
        elif c == "{":
            bounds = self.braces()
        if bounds is None:
            return atom
        if self.peek() == "?":
            self.take()
        if isinstance(atom, _Anchor):
            raise self.fail("a quantified anchor is not supported")
        if bounds[1] is not None and bounds[1] < bounds[0]:
            raise self.fail("numbers out of order in {} quantifier")
        return ("rep", atom, *bounds)

    def braces(self) -> tuple[int, int | None] | None:
        """A `{n}`, `{n,}` or `{n,m}` quantifier; None (a literal `{`, Annex B) otherwise."""
        end = self.text.find("}", self.pos)
        body = self.text[self.pos + 1:end] if end > 0 else ""
        low, comma, high = body.partition(",")
        if not low.isdigit() or not (high.isdigit() or high == ""):
            return None
        self.pos = end + 1
        return int(low), (int(high) if high else None) if comma else int(low)

    def atom(self) -> _Node:
        c = self.take()
        if c == ".":
            return _DOT
        if c == "\\":
            return self.escape(in_class=False)
        if c == "[":
            return self.char_class()
        if c == "(":
            return self.group()
        if c in "*+?":
            raise self.fail("nothing to repeat")
        if c == ")":
            raise self.fail("unbalanced parenthesis")
        if c == "{" and self.braces_ahead():
            raise self.fail("nothing to repeat")
        return char_set(c)

    def braces_ahead(self) -> bool:
        self.pos -= 1
        found = self.braces() is not None
        self.pos += 0 if found else 1
        return found

    def group(self) -> _Node:
        if self.peek() == "?":
            kind = self.peek(3)
            if kind.startswith("?:"):
                self.take(2)
            elif kind.startswith("?<") and kind not in ("?<=", "?<!"):
                end = self.text.find(">", self.pos)
                if end < 0:
                    raise self.fail("unterminated group name")
                self.pos = end + 1
            elif kind[:2] in ("?=", "?!") or kind in ("?<=", "?<!"):
                raise self.fail("lookaround assertions are not supported")
            else:
                raise self.fail("inline flags and other group extensions are not ECMA-262")
        inner = self.disjunction()
        if self.take() != ")":
            raise self.fail("missing )")
        return inner

    def escape(self, in_class: bool) -> Chars:
        c = self.take()
        if c == "":
            raise self.fail("pattern ends in a backslash")
        if c in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[c]
        if c in _CONTROL_ESCAPES:
            return char_set(_CONTROL_ESCAPES[c])
        if c == "b" and in_class:
            return char_set("\b")
        if c == "0" and not self.peek().isdigit():
            return char_set("\0")
        if c.isdigit() or c == "k":
            raise self.fail("backreferences are not supported")
        if c in "pP":
            raise self.fail("Unicode property escapes are not supported")
        if c == "c" and self.peek().isascii() and self.peek().isalpha():
            return char_set(chr(ord(self.take()) % 32))
        if c == "x" and _is_hex(self.peek(2)):
            return char_set(chr(int(self.take(2), 16)))
        if c == "u":
            return char_set(self.unicode_escape())
        if c in _SYNTAX or not c.isalnum():
            return char_set(c)
        raise self.fail(f"unknown escape \\{c}")

    def unicode_escape(self) -> str:
        if self.peek() == "{":
            end = self.text.find("}", self.pos)
            digits = self.text[self.pos + 1:end]
            if end < 0 or not _is_hex(digits) or int(digits, 16) > 0x10FFFF:
                raise self.fail("bad \\u{...} escape")
            self.pos = end + 1
            return chr(int(digits, 16))
        if not _is_hex(self.peek(4)):
            raise self.fail("bad \\u escape")
        code = int(self.take(4), 16)
        if 0xD800 <= code <= 0xDBFF and self.peek(2) == "\\u" and _is_hex(self.text[self.pos + 2:self.pos + 6]):
            low = int(self.text[self.pos + 2:self.pos + 6], 16)
            if 0xDC00 <= low <= 0xDFFF:
                self.pos += 6
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
        return chr(code)

    def char_class(self) -> Chars:
        negated = self.peek() == "^"
        if negated:
            self.take()
        ranges: list[tuple[int, int]] = []
        while self.peek() != "]":
            if self.pos >= len(self.text):
                raise self.fail("unterminated character class")
            low = self.class_atom()
            if self.peek() == "-" and self.peek(2) != "-]" and self.text[self.pos + 1:self.pos + 2] not in ("]", ""):
                self.take()
                high = self.class_atom()
                if _single(low) and _single(high):
                    if low.ranges[0][0] > high.ranges[0][0]:
                        raise self.fail("range out of order in character class")
                    ranges.append((low.ranges[0][0], high.ranges[0][0]))
                    continue
                ranges += [*low.ranges, (ord("-"), ord("-")), *high.ranges]
                continue
            ranges += low.ranges
        self.take()
        body = chars(*ranges)
        return complement(body) if negated else body

    def class_atom(self) -> Chars:
        c = self.take()
        return self.escape(in_class=True) if c == "\\" else char_set(c)


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def _single(c: Chars) -> bool:
    return len(c.ranges) == 1 and c.ranges[0][0] == c.ranges[0][1]


def _items(node: _Node) -> list[_Node]:
    return list(node[1]) if isinstance(node, tuple) and node[0] == "seq" else [node]


def _has_anchor(node: _Node) -> bool:
    if isinstance(node, _Anchor):
        return True
    if isinstance(node, tuple):
        children = node[1] if node[0] in ("seq", "alt") else [node[1]]
        return any(_has_anchor(x) for x in children)
    return False


def _branches(items: list[_Node]) -> list[list[_Node]]:
    """Split a top-level alternative so that anchors inside its first or last group surface."""
    for index in (0, len(items) - 1) if items else ():
        node = items[index]
        if isinstance(node, tuple) and node[0] in ("alt", "seq") and _has_anchor(node):
            options = node[1] if node[0] == "alt" else [node]
            return [out for option in options
                    for out in _branches(items[:index] + _items(option) + items[index + 1:])]
    return [items]


def _regex(node: _Node) -> Regex:
    if isinstance(node, _Anchor):
        raise PatternError(f"anchor {node.kind} is only supported at the start or end of the pattern")
    if not isinstance(node, tuple):
        return node
    if node[0] == "seq":
        return seq(*(_regex(x) for x in node[1]))
    if node[0] == "alt":
        return alt(*(_regex(x) for x in node[1]))
    return repeat(_regex(node[1]), node[2], node[3])


def _search(items: list[_Node]) -> Regex:
    anywhere = repeat(ANY_CHAR, 0, None)
    start = end = False
    while items and isinstance(items[0], _Anchor) and items[0].kind == "^":
        items, start = items[1:], True
    while items and isinstance(items[-1], _Anchor) and items[-1].kind == "$":
        items, end = items[:-1], True
    return seq(EMPTY if start else anywhere, *(_regex(x) for x in items), EMPTY if end else anywhere)


def _parse(pattern: str) -> _Node:
    parser = _Parser(pattern)
    tree = parser.disjunction()
    if parser.pos != len(pattern):
        raise parser.fail("unbalanced parenthesis")
    return tree


def pattern_language(pattern: str) -> Regex:
    """The strings in which `pattern` is found (JSON Schema semantics). Raises PatternError."""
    tree = _parse(pattern)
    alternatives = tree[1] if isinstance(tree, tuple) and tree[0] == "alt" else [tree]
    return alt(*(_search(items) for top in alternatives for items in _branches(_items(top))))


def full_match_language(pattern: str) -> Regex:
    """The strings `pattern` matches entirely (for built-in formats). Raises PatternError."""
    return _regex(_parse(pattern))
