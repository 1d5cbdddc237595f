"""Byte-level regular expressions as hash-consed nodes, with Brzozowski derivatives.

This is what makes terminal automata lazy: a DFA state is a regex node, and its successor on a
byte is the node's derivative, computed when a walk first gets there. `a{0,1000000}` is one node
whose derivatives count down; nothing is built per count until text reaches it.

A `Nodes` arena interns nodes as small ints (one arena per terminal automaton, so nothing
outlives its automaton). Kinds: the empty language, the empty string, a byte set (a 256-bit
int), a concatenation (binary, right-nested), an alternation (a sorted tuple) and a counted
repetition `{m,n}` (n = -1: unbounded). Smart constructors keep alternations flat and sorted
and drop trivial parts, so the derivatives of a regex reach finitely many nodes per count.

`parse_regex` reads the regex text lark hands over (Python syntax: the subset the schema
compiler renders and the packaged `.lark` files use: literals, escapes, classes, `.`, groups,
alternation, greedy or lazy quantifiers). Characters become their UTF-8 byte sequences; no
surrogate is ever matched.

Not handled: anchors, lookaround, backreferences, flags (`MalformedGrammar`).
"""

from __future__ import annotations

from collections.abc import Iterable

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.limits import check_count

__all__ = ["Nodes", "NONE", "EPS", "parse_regex", "utf8_sequences"]

NONE, EPS, BYTES, SEQ, ALT, REP = range(6)
_ALL_BYTES = (1 << 256) - 1
_MAX_CHAR = 0x10FFFF


class Nodes:
    """An arena of interned regex nodes; node 0 is the empty language, node 1 the empty string."""

    def __init__(self) -> None:
        self.kinds: list[tuple] = []
        self._index: dict[tuple, int] = {}
        self.nullable: list[bool] = []
        self.size: list[int] = []
        """Nodes in each node's tree (shared parts counted again), for bounding key texts."""
        self._clamped: dict[tuple[int, int], int] = {}
        self._min_len: dict[int, int] = {0: -1, 1: 0}
        self._cuts: dict[int, tuple[int, ...]] = {}
        self._derivatives: dict[tuple[int, int], int] = {}
        self._intern((NONE,), False)
        self._intern((EPS,), True)

    def _intern(self, key: tuple, nullable: bool) -> int:
        node = self._index.get(key)
        if node is None:
            node = self._index[key] = len(self.kinds)
            self.kinds.append(key)
            self.nullable.append(nullable)
            children = key[1] if key[0] == ALT else key[1:3] if key[0] == SEQ else key[1:2] if key[0] == REP else ()
            self.size.append(min(1 + sum(self.size[c] for c in children), 1 << 40))
        return node

    # -- constructors -----------------------------------------------------------------------

    def byteset(self, mask: int) -> int:
        return self._intern((BYTES, mask), False) if mask else 0

    def seq(self, a: int, b: int) -> int:
        if a == 0 or b == 0:
            return 0
        if a == 1:
            return b
        if b == 1:
            return a
        heads = []
        while self.kinds[a][0] == SEQ:  # right-nest: (x y) b -> x (y b), iteratively
            heads.append(self.kinds[a][1])
            a = self.kinds[a][2]
        out = self._intern((SEQ, a, b), self.nullable[a] and self.nullable[b])
        for head in reversed(heads):
            out = self._intern((SEQ, head, out), self.nullable[head] and self.nullable[out])
        return out

    def seq_all(self, items: list[int]) -> int:
        out = 1
        for item in reversed(items):
            out = self.seq(item, out)
        return out

    def alt(self, items: Iterable[int]) -> int:
        flat: set[int] = set()
        mask = 0
        for x in items:
            k = self.kinds[x]
            if k[0] == ALT:
                for y in k[1]:
                    if self.kinds[y][0] == BYTES:
                        mask |= self.kinds[y][1]
                    else:
                        flat.add(y)
            elif k[0] == BYTES:
                mask |= k[1]
            elif x != 0:
                flat.add(x)
        if mask:
            flat.add(self.byteset(mask))
        if not flat:
            return 0
        if len(flat) == 1:
            return flat.pop()
        members = tuple(sorted(flat))
        return self._intern((ALT, members), any(self.nullable[x] for x in members))

    def rep(self, x: int, low: int, high: int) -> int:
        """`x{low,high}`; high = -1 for no upper bound."""
        if high != -1 and high < low:
            return 0
        if x == 0:
            return 1 if low == 0 else 0
        if x == 1 or high == 0:
            return 1
        if self.nullable[x]:
            low = 0
        if low == 1 and high == 1:
            return x
        return self._intern((REP, x, low, high), low == 0 or self.nullable[x])

    def chars(self, ranges: Iterable[tuple[int, int]]) -> int:
        """The node of one character out of the code point `ranges`: its UTF-8 byte sequences
        (surrogates excluded: they are not characters UTF-8 can carry)."""
        branches = []
        for lo, hi in ranges:
            for sequence in utf8_sequences(lo, hi):
                branches.append(self.seq_all([self.byteset(((1 << (b + 1)) - 1) ^ ((1 << a) - 1)) for a, b in sequence]))
        return self.alt(branches)

    # -- derivatives --------------------------------------------------------------------------

    def cuts(self, node: int) -> tuple[int, ...]:
        """Sorted byte values where the derivative may change (0 and 256 included)."""
        out = self._cuts.get(node)
        if out is None:
            points = {0, 256}
            todo, seen = [node], set()
            while todo:  # the byte sets that can match a first byte
                n = todo.pop()
                if n in seen:
                    continue
                seen.add(n)
                k = self.kinds[n]
                if k[0] == BYTES:
                    m = k[1]
                    edges = m ^ (m << 1)
                    while edges:
                        low = edges & -edges
                        points.add(low.bit_length() - 1)
                        edges ^= low
                elif k[0] == SEQ:
                    todo.append(k[1])
                    if self.nullable[k[1]]:
                        todo.append(k[2])
                elif k[0] == ALT:
                    todo.extend(k[1])
                elif k[0] == REP:
                    todo.append(k[1])
            out = self._cuts[node] = tuple(sorted(p for p in points if p <= 256))
        return out

    def derivative(self, node: int, byte: int) -> int:
        """The node matching what may follow `byte` after a string of `node`'s language."""
        key = (node, byte)
        out = self._derivatives.get(key)
        if out is None:
            out = self._derivatives[key] = self._derive(node, byte)
        return out

    def _derive(self, node: int, byte: int) -> int:
        # iterative over the right spine of concatenations: a 100k-byte literal is a deep chain
        k = self.kinds[node]
        kind = k[0]
        if kind == BYTES:
            return 1 if (k[1] >> byte) & 1 else 0
        if kind == SEQ:
            parts = []
            while k[0] == SEQ:
                head, tail = k[1], k[2]
                parts.append(self.seq(self.derivative(head, byte), tail))
                if not self.nullable[head]:
                    return self.alt(parts)
                k = self.kinds[tail]
                node = tail
            parts.append(self.derivative(node, byte))
            return self.alt(parts)
        if kind == ALT:
            return self.alt(self.derivative(x, byte) for x in k[1])
        if kind == REP:
            _, x, low, high = k
            rest = self.rep(x, max(low - 1, 0), -1 if high == -1 else high - 1)
            return self.seq(self.derivative(x, byte), rest)
        return 0

    def min_len(self, node: int) -> int:
        """Bytes in the shortest string of `node`'s language (-1: the language is empty)."""
        out = self._min_len.get(node)
        if out is not None:
            return out
        spine = []  # concatenations along the spine iteratively, as in `clamp`
        k = self.kinds[node]
        while k[0] == SEQ and node not in self._min_len:
            spine.append((node, k[1]))
            node = k[2]
            k = self.kinds[node]
        out = self._min_len.get(node)
        if out is None:
            out = self._min_len[node] = self._min_len_one(node)
        for whole, head in reversed(spine):
            first = self.min_len(head)
            out = self._min_len[whole] = -1 if first < 0 or out < 0 else first + out
        return out

    def _min_len_one(self, node: int) -> int:
        k = self.kinds[node]
        if k[0] == BYTES:
            return 1
        if k[0] == ALT:
            lengths = [n for n in (self.min_len(x) for x in k[1]) if n >= 0]
            return min(lengths) if lengths else -1
        if k[0] == REP:
            inner = self.min_len(k[1])
            return 0 if k[2] == 0 else -1 if inner < 0 else inner * k[2]
        return -1 if k[0] == NONE else 0

    def clamp(self, node: int, horizon: int) -> int:
        """`node` with every count past `horizon` replaced, so that strings of at most `horizon`
        bytes fare the same: a minimum above it becomes horizon+1 (still out of reach), a maximum
        above it unbounded (never reached). Every repeated part reads at least one byte."""
        memo = self._clamped.get((node, horizon))
        if memo is not None:
            return memo
        spine = []  # along concatenations iteratively, reusing clamped tails: literals are long chains
        k = self.kinds[node]
        while k[0] == SEQ and (node, horizon) not in self._clamped:
            spine.append((node, k[1]))
            node = k[2]
            k = self.kinds[node]
        out = self._clamped.get((node, horizon))
        if out is None:
            out = self._clamped[(node, horizon)] = self._clamp_one(node, horizon)
        for whole, head in reversed(spine):
            out = self._clamped[(whole, horizon)] = self.seq(self.clamp(head, horizon), out)
        return out

    def _clamp_one(self, node: int, horizon: int) -> int:
        k = self.kinds[node]
        if k[0] == ALT:
            return self.alt(self.clamp(x, horizon) for x in k[1])
        if k[0] == REP:
            _, x, low, high = k
            high = -1 if high > horizon else high
            return self.rep(self.clamp(x, horizon), min(low, horizon + 1), high)
        return node

    def key(self, node: int, limit: int) -> str | None:
        """A text equal for equal nodes of any arena, or None when longer than `limit`."""
        if self.size[node] > limit:
            return None
        out: list[str] = []
        todo: list[int | str] = [node]
        while todo:
            item = todo.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            k = self.kinds[item]
            if k[0] in (NONE, EPS):
                out.append("N" if k[0] == NONE else "E")
            elif k[0] == BYTES:
                out.append(f"B{k[1]:x}")
            elif k[0] == SEQ:
                todo += [")", k[2], k[1], "S("]
            elif k[0] == ALT:
                todo.append(")")
                todo.extend(reversed(k[1]))
                todo.append("A(")
            else:
                todo += [f"){k[2]},{k[3]}", k[1], "R("]
        return "".join(out)


def _encode(cp: int) -> bytes:
    return chr(cp).encode("utf-8", "surrogatepass")


def utf8_sequences(lo: int, hi: int) -> list[tuple[tuple[int, int], ...]]:
    """Byte-range sequences matching exactly the UTF-8 encodings of code points lo..hi.

    Example: utf8_sequences(0x41, 0x42) == [((0x41, 0x42),)]
    """
    out: list[tuple[tuple[int, int], ...]] = []
    todo = [(lo, hi)]
    while todo:
        lo, hi = todo.pop()
        if lo > hi:
            continue
        if lo <= 0xDFFF and hi >= 0xD800:  # surrogates are not characters
            todo += [(lo, 0xD7FF), (0xE000, hi)]
            continue
        split = next((b for b in (0x7F, 0x7FF, 0xFFFF) if lo <= b < hi), None)
        if split is not None:
            todo += [(lo, split), (split + 1, hi)]
            continue
        if hi <= 0x7F:
            out.append(((lo, hi),))
            continue
        n = len(_encode(lo))
        for i in range(1, n):
            m = (1 << (6 * i)) - 1
            if lo & ~m != hi & ~m:
                if lo & m:
                    todo += [(lo, lo | m), ((lo | m) + 1, hi)]
                    break
                if hi & m != m:
                    todo += [(lo, (hi & ~m) - 1), (hi & ~m, hi)]
                    break
        else:
            a, b = _encode(lo), _encode(hi)
            out.append(tuple(zip(a, b)))
    return out


# -- parsing lark's regex text -------------------------------------------------------------------

_ESCAPES = {"t": 9, "n": 10, "r": 13, "f": 12, "v": 11, "0": 0, "a": 7}
_CLASSES = {
    "d": ((0x30, 0x39),),
    "w": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
    "s": ((0x09, 0x0D), (0x20, 0x20)),
}
_MAX_REGEX_DEPTH = 200


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, prev = [], 0
    for lo, hi in sorted(ranges):
        if lo > prev:
            out.append((prev, lo - 1))
        prev = max(prev, hi + 1)
    if prev <= _MAX_CHAR:
        out.append((prev, _MAX_CHAR))
    return out


class _Parser:
    def __init__(self, text: str, nodes: Nodes) -> None:
        self.text, self.i, self.nodes, self.depth = text, 0, nodes, 0

    def fail(self, why: str) -> MalformedGrammar:
        return MalformedGrammar(f"terminal regex {self.text[:80]!r}: {why} at offset {self.i}")

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def alternation(self) -> int:
        self.depth += 1
        if self.depth > _MAX_REGEX_DEPTH:
            raise self.fail(f"groups nested deeper than {_MAX_REGEX_DEPTH}")
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        self.depth -= 1
        return self.nodes.alt(branches)

    def sequence(self) -> int:
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.atom()))
        return self.nodes.seq_all(items)

    def quantified(self, node: int) -> int:
        while True:
            c = self.peek()
            if c in "*+?" and c:
                self.i += 1
                low, high = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}[c]
            elif c == "{" and self._counted():
                low, high = self._count()
            else:
                return node
            if self.peek() == "?":  # lazy quantifier: same language
                self.i += 1
            node = self.nodes.rep(node, low, high)

    def _counted(self) -> bool:
        j = self.text.find("}", self.i)
        body = self.text[self.i + 1 : j] if j > 0 else ""
        return bool(body) and all(c.isdigit() or c == "," for c in body) and body.count(",") <= 1 and body[0] != ","

    def _count(self) -> tuple[int, int]:
        j = self.text.index("}", self.i)
        body = self.text[self.i + 1 : j]
        self.i = j + 1
        low_text, _, high_text = body.partition(",")
        if max(len(low_text), len(high_text)) > 19:
            raise self.fail("a repetition count with more than 19 digits")
        low = int(low_text)
        high = low if "," not in body else (int(high_text) if high_text else -1)
        for value in (low, high):
            check_count(value, "count", "", f"repetition {{{body}}}")
        if high != -1 and high < low:
            raise self.fail(f"repetition {{{body}}} has max < min")
        return low, high

    def atom(self) -> int:
        c = self.peek()
        self.i += 1
        if c == "(":
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                raise self.fail("lookaround and inline flags are not supported")
            node = self.alternation()
            if self.peek() != ")":
                raise self.fail("unbalanced parenthesis")
            self.i += 1
            return node
        if c == "[":
            return self.nodes.chars(self._class())
        if c == ".":
            return self.nodes.chars([(0, 9), (11, _MAX_CHAR)])
        if c == "\\":
            return self.nodes.chars(self._escape(in_class=False))
        if c in "^$":
            raise self.fail("anchors are not supported")
        if c in ")*+?{":
            raise self.fail(f"unexpected {c!r}")
        return self.nodes.chars([(ord(c), ord(c))])

    def _escape(self, in_class: bool) -> list[tuple[int, int]]:
        c = self.peek()
        if not c:
            raise self.fail("dangling backslash")
        self.i += 1
        if c in _CLASSES:
            return list(_CLASSES[c])
        if c.lower() in _CLASSES:
            return _complement(list(_CLASSES[c.lower()]))
        width = {"x": 2, "u": 4, "U": 8}.get(c)
        if width:
            digits = self.text[self.i : self.i + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.fail(f"bad \\{c} escape")
            self.i += width
            code = int(digits, 16)
            if code > _MAX_CHAR:
                raise self.fail(f"\\{c}{digits} is beyond Unicode")
            return [(code, code)]
        if c in _ESCAPES:
            return [(_ESCAPES[c], _ESCAPES[c])]
        if c.isalnum():
            raise self.fail(f"unsupported escape \\{c}" + (" (backreference)" if c.isdigit() else ""))
        return [(ord(c), ord(c))]

    def _class_char(self) -> list[tuple[int, int]]:
        c = self.peek()
        if not c:
            raise self.fail("unterminated character class")
        self.i += 1
        if c == "\\":
            return self._escape(in_class=True)
        return [(ord(c), ord(c))]

    def _class(self) -> list[tuple[int, int]]:
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        ranges: list[tuple[int, int]] = []
        first = True
        while first or self.peek() != "]":
            first = False
            lo = self._class_char()
            if self.peek() == "-" and self.text[self.i + 1 : self.i + 2] not in ("]", "") and len(lo) == 1 and lo[0][0] == lo[0][1]:
                self.i += 1
                hi = self._class_char()
                if len(hi) != 1 or hi[0][0] != hi[0][1] or hi[0][0] < lo[0][0]:
                    raise self.fail("bad character range")
                ranges.append((lo[0][0], hi[0][0]))
            else:
                ranges.extend(lo)
        self.i += 1
        return _complement(ranges) if negate else ranges


def parse_regex(text: str, nodes: Nodes) -> int:
    """The node in `nodes` of lark regex `text` (Python syntax, no flags)."""
    parser = _Parser(text, nodes)
    node = parser.alternation()
    if parser.i != len(text):
        raise parser.fail("unbalanced parenthesis")
    return node
