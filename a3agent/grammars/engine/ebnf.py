"""Grammar text to BNF rules without lark's loader, for the lark the engine itself writes.

lark reads grammar text at about 4.5 s a megabyte and cannot be interrupted: on large schemas it
was half the compile. This reader covers the part of lark's language the schema compiler,
`json.lark` and the dialect files write, one statement per line: `name: body`, `NAME: "literal"`
or `NAME: /regex/`, `%declare NAME...`, `//` comments; bodies of names, literals, `( )`, `[ ]`,
`|`, `?`, `*`, `+`, `~n` and `~n..m`. Anything else (rules over several lines, `%import`,
`%ignore`, rule modifiers, flags) returns None, and lark reads the text as before. Literals are
unescaped as lark's `eval_escaping` does them (`_unescaped`).

The rules it gives have lark's language, and lark's shapes where they matter to the parser's
tables: groups and optionals are spread into their rule's alternatives (lark's expansion; past
`_MAX_SPREAD` alternatives a group becomes a rule of its own), `*` and `+` become a left-recursive
rule, counted repeats an alternative per count up to 49 and past that rules by powers of two
(logarithmic in the count). Cost: linear in the text and in the rules written, charged to the
compile budget.

Example: `read_grammar('start: "a" b*\\nb: /[0-9]/\\n')`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import product

from lark.grammar import NonTerminal, Rule, Symbol, Terminal
from lark.lexer import PatternRE, PatternStr, TerminalDef

from a3agent.grammars.engine.limits import charge

__all__ = ["read_grammar", "read_bodies"]

_TOKEN = re.compile(r"""
    [ \t]+
  | (?P<comment> //.* )
  | (?P<literal> "(?:[^"\\\n]|\\.)*" | /(?:[^/\\\n]|\\.)+/ )
  | ~[ \t]*(?P<least>\d+)(?:[ \t]*\.\.[ \t]*(?P<most>\d+))?
  | (?P<name> [A-Za-z_][A-Za-z_0-9]* )
  | (?P<op> [()\[\]|?*+] )
""", re.VERBOSE)
_RULE = re.compile(r"([a-z_][a-z_0-9]*)[ \t]*:(.*)")
_TERMINAL = re.compile(r'([A-Z_][A-Z_0-9]*)[ \t]*:[ \t]*("(?:[^"\\\n]|\\.)*"|/(?:[^/\\\n]|\\.)+/)[ \t]*')
_DECLARE = re.compile(r"%declare((?:[ \t]+[A-Z_][A-Z_0-9]*)+)[ \t]*")
_INLINE_COUNT = 50
"""Counted repeats up to this are written out, one alternative per count (lark's threshold)."""
_MAX_SPREAD = 64
"""Alternatives one rule may spread into before a group is given a rule of its own."""

Alternatives = list[tuple[Symbol, ...]]


class _Unreadable(Exception):
    """The text uses lark beyond this reader's part: lark reads it."""


def read_grammar(text: str) -> tuple[list[TerminalDef], list[Rule]] | None:
    """Terminal definitions and BNF rules of `text`, as `lark` would give them; None if the text
    is not in the part of lark this reader knows."""
    try:
        return _Reader(text).read()
    except _Unreadable:
        return None


def read_bodies(bodies: Mapping[str, str]) -> list[tuple[str, tuple[str, ...]]] | None:
    """BNF rules, as (lhs, rhs names), of rule bodies read apart from their grammar (helper rules
    included); a name none of `bodies` defines stands for text defined elsewhere and is read as a
    terminal. None if a body is beyond this reader's part of lark."""
    reader = _Reader("", open_names=True)
    reader.bodies = dict(bodies)
    try:
        for name, body in bodies.items():
            reader.rules[name] = reader._alternatives(body)
    except _Unreadable:
        return None
    return [(name, tuple(sym.name for sym in alt)) for name, alts in reader.rules.items() for alt in alts]


class _Reader:
    def __init__(self, text: str, open_names: bool = False) -> None:
        self.text = text
        self.open_names = open_names
        """Read a name no statement defines as a terminal (`read_bodies`) rather than give up."""
        self.bodies: dict[str, str] = {}
        self.terminals: dict[str, TerminalDef] = {}
        self.by_pattern: dict[tuple[str, str], str] = {}
        self.declared: set[str] = set()
        self.rules: dict[str, Alternatives] = {}
        self.helpers: dict[tuple[str, tuple[tuple[Symbol, ...], ...]], Symbol] = {}

    def read(self) -> tuple[list[TerminalDef], list[Rule]]:
        charge(len(self.text) // 64)
        for line in self.text.split("\n"):
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            if line.startswith("%"):
                declared = _DECLARE.fullmatch(line)
                if declared is None:
                    raise _Unreadable
                self.declared.update(declared[1].split())
                continue
            terminal = _TERMINAL.fullmatch(line)
            if terminal is not None:
                self._define_terminal(terminal[1], terminal[2])
                continue
            rule = _RULE.fullmatch(line)
            if rule is None or rule[1] in self.bodies:
                raise _Unreadable
            self.bodies[rule[1]] = rule[2]
        if "start" not in self.bodies:
            raise _Unreadable
        for name, body in self.bodies.items():
            self.rules[name] = self._alternatives(body)
        return self._reachable()

    def _define_terminal(self, name: str, literal: str) -> None:
        if name in self.terminals:
            raise _Unreadable
        pattern = _pattern(literal)
        self.terminals[name] = TerminalDef(name, pattern)
        self.by_pattern.setdefault((pattern.type, pattern.value), name)

    def _symbol(self, name: str) -> Symbol:
        if self.open_names and name not in self.bodies:
            return Terminal(name)
        if name[0].isupper():
            if name not in self.terminals and name not in self.declared:
                raise _Unreadable  # lark's error message is the better one
            return Terminal(name)
        if name not in self.bodies:
            raise _Unreadable
        return NonTerminal(name)

    def _anonymous(self, literal: str) -> Symbol:
        pattern = _pattern(literal)
        name = self.by_pattern.get((pattern.type, pattern.value))
        if name is None:
            name = f"__ANON_{len(self.by_pattern)}"
            if name in self.terminals or name in self.declared:
                raise _Unreadable
            self.terminals[name] = TerminalDef(name, pattern)
            self.by_pattern[(pattern.type, pattern.value)] = name
        return Terminal(name)

    def _helper(self, alternatives: Alternatives, kind: str = "") -> Symbol:
        """A rule of its own for `alternatives`, shared by every equal use (as lark shares them:
        one `(COMMA other)*` rule for a whole object's members); `kind` tells what is built from
        them (`*` for the repeat rule over them)."""
        key = (kind, tuple(alternatives))
        symbol = self.helpers.get(key)
        if symbol is None:
            name = f"__rule_{len(self.helpers)}"
            if name in self.bodies:
                raise _Unreadable
            symbol = self.helpers[key] = NonTerminal(name)
            self.rules[symbol.name] = list(alternatives)
            if kind == "*":
                self.rules[symbol.name] += [(symbol,) + alt for alt in alternatives]
        return symbol

    # -- bodies -------------------------------------------------------------------------------

    def _alternatives(self, body: str) -> Alternatives:
        """A body's alternatives, each a tuple of symbols. Each grouping level is a frame of
        (the alternatives closed so far, the current alternative's items, the opening bracket);
        an item is its own list of alternatives."""
        frames: list[tuple[Alternatives, list[Alternatives], str]] = [([], [], "")]
        pos = 0
        while pos < len(body):
            match = _TOKEN.match(body, pos)
            if match is None:
                raise _Unreadable
            pos = match.end()
            closed, items, _ = frames[-1]
            if match.lastgroup is None:  # blanks
                continue
            if match["comment"]:
                break
            if match["literal"]:
                items.append([(self._anonymous(match["literal"]),)])
            elif match["name"]:
                items.append([(self._symbol(match["name"]),)])
            elif match["least"] is not None:
                if not items:
                    raise _Unreadable
                least = int(match["least"])
                most = least if match["most"] is None else int(match["most"])
                if most < least:
                    raise _Unreadable
                items[-1] = self._counted(items[-1], least, most)
            elif match["op"] in "?*+":
                if not items:
                    raise _Unreadable
                items[-1] = self._repeated(items[-1], match["op"])
            elif match["op"] in "([":
                frames.append(([], [], match["op"]))
            elif match["op"] == "|":
                closed += self._spread(items)
                items.clear()
            else:
                if len(frames) == 1 or "([".index(frames[-1][2]) != ")]".index(match["op"]):
                    raise _Unreadable
                inner = closed + self._spread(items)
                frames.pop()
                frames[-1][1].append(inner + [()] if match["op"] == "]" else inner)
        if len(frames) != 1:
            raise _Unreadable
        closed, items, _ = frames[0]
        return list(dict.fromkeys(closed + self._spread(items)))

    def _spread(self, items: list[Alternatives]) -> Alternatives:
        """The alternatives of a sequence of items: every combination, as lark expands them; an
        item whose alternatives would multiply past `_MAX_SPREAD` becomes a rule of its own."""
        total = 1
        for k, options in enumerate(items):
            if len(options) > 1 and total * len(options) > _MAX_SPREAD:
                items[k] = [(self._helper(options),)]
            total *= len(items[k])
        charge(total)
        return [tuple(sym for part in combination for sym in part) for combination in product(*items)]

    def _single(self, options: Alternatives) -> Symbol:
        return options[0][0] if len(options) == 1 and len(options[0]) == 1 else self._helper(options)

    def _repeated(self, options: Alternatives, op: str) -> Alternatives:
        """`?` adds the empty alternative; `*` and `+` a rule `star: alt | star alt` over the
        item's non-empty alternatives (left-recursive, as lark writes it)."""
        if op == "?":
            return list(dict.fromkeys(options + [()]))
        filled = [alt for alt in options if alt]
        if not filled:
            return [()]
        star = self._helper(filled, "*")
        nullable = op == "*" or len(filled) < len(options)
        return [(star,), ()] if nullable else [(star,)]

    def _counted(self, options: Alternatives, least: int, most: int) -> Alternatives:
        """`item~least..most`: below `_INLINE_COUNT`, an alternative per count; else `least`
        copies, then up to `most - least` more, from rules for 2^k copies, so the rules written
        grow with the number of digits of the counts."""
        if most < _INLINE_COUNT:  # as lark writes them: one alternative per count
            unit = options[0] if len(options) == 1 else (self._helper(options),)
            charge((most + 1) * most * len(unit) // 2 + 1)
            return [unit * n for n in range(least, most + 1)]
        item = self._single(options)
        powers = [item]
        while 1 << len(powers) <= max(least, most - least):
            powers.append(self._helper([(powers[-1], powers[-1])]))
        charge(len(powers))
        exact = tuple(powers[k] for k in range(len(powers)) if least >> k & 1)
        return [exact + tail for tail in self._up_to(most - least, powers)]

    def _up_to(self, count: int, powers: list[Symbol]) -> Alternatives:
        """0 to `count` copies: fewer than 2^b (b the top bit of `count`: each lower power at
        most once), or 2^b then 0 to `count - 2^b` more (one level per set bit)."""
        out: Alternatives = []
        prefix: tuple[Symbol, ...] = ()
        while count:
            top = count.bit_length() - 1
            below: Alternatives = [()]
            for k in range(top):  # 0 .. 2^(k+1) - 1 copies
                level = below + [(powers[k],) + tail for tail in below]
                below = [(self._helper(level),)] if len(level) > 2 else level
            out += [prefix + tail for tail in below]
            prefix += (powers[top],)
            count -= 1 << top
        return out + [prefix]

    def _reachable(self) -> tuple[list[TerminalDef], list[Rule]]:
        seen, todo = {"start"}, ["start"]
        rules: list[Rule] = []
        while todo:
            name = todo.pop()
            for expansion in self.rules[name]:
                rules.append(Rule(NonTerminal(name), list(expansion)))
                for sym in expansion:
                    if not sym.is_term and sym.name not in seen:
                        seen.add(sym.name)
                        todo.append(sym.name)
        charge(len(rules))
        used = {sym.name for rule in rules for sym in rule.expansion if sym.is_term}
        return [t for name, t in self.terminals.items() if name in used], rules


def _pattern(literal: str) -> PatternStr | PatternRE:
    """The pattern of a `"..."` or `/.../` literal (the token patterns admit no flags or
    newlines), as lark's `_literal_to_pattern` gives it, without its `ast.literal_eval` per
    literal (2-5 µs against 11-17 µs, and a schema's grammar has hundreds). An empty literal or a
    lone surrogate, which lark refuses, is left to lark to say so."""
    body = literal[1:-1]
    if not body or _SURROGATE.search(body):
        raise _Unreadable
    value = _unescaped(body)
    if literal[0] == '"':
        return PatternStr(value.replace("\\\\", "\\"), "", raw=literal)
    return PatternRE(value, "", raw=literal)


_EVALUATED_ESCAPES = frozenset("Uuxnftr")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""Lone surrogates, which lark refuses (it cannot encode the text it evaluates)."""


def _unescaped(body: str) -> str:
    """lark's `eval_escaping`: escapes other than \\U \\u \\x \\n \\f \\t \\r keep their backslash
    (a regex's `\\d` stays `\\d`; `\\\\` stays two backslashes), those are evaluated."""
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for c in chars:
        out.append(c)
        if c == "\\":
            following = next(chars, None)
            if following is None:
                raise _Unreadable("a literal ends in a backslash")
            if following == "\\":
                out.append("\\\\")
            elif following not in _EVALUATED_ESCAPES:
                out.append("\\")
            out.append(following)
    text = "".join(out).replace('\\"', '"')
    try:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError as e:  # a truncated or out-of-range \x, \u or \U escape
        raise _Unreadable(str(e)) from e
