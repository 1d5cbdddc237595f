"""Which of the schema compiler's rules derive some finite text, decided on their lark bodies.

A recursive schema can give a rule that never ends (`{"$ref": "#"}`, an object that requires
itself); such a rule would let the parser start a value it can never finish, so the schema is
refused. The rules are read as written, in the small part of lark's EBNF the compiler writes
(names, string and regex literals, `( )`, `[ ]`, `|`, `?`, `*`, `+`, `~n`, `~n..m`), each once
into a postfix program; then a worklist re-evaluates a rule only when a rule it names becomes
productive. Linear in the text times the names each rule depends on; no lark (reading a large
grammar with lark cost as much as the whole rest of its compile), no recursion.

Example: `productive_rules({"a": "\"x\" b?", "b": "b"})` is `{"a"}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.limits import charge

__all__ = ["productive_rules"]

_TOKEN = re.compile(r"""
    \s+
  | (?P<literal> "(?:[^"\\]|\\.)*"i? | /(?:[^/\\\n]|\\.)+/[imslux]* )
  | ~\s*(?P<least>\d+)(?:\s*\.\.\s*\d+)?
  | (?P<name> [A-Za-z_][A-Za-z_0-9]* )
  | (?P<op> [()\[\]|?*+] )
""", re.VERBOSE)

Program = list[tuple[str, object]]
"""Postfix: ("v", name or True) pushes a truth value, ("opt", 0) replaces the top by True,
("and", n) / ("or", n) replace the top n values by their conjunction / disjunction."""


def productive_rules(rules: Mapping[str, str]) -> set[str]:
    """The names of `rules` (name -> lark body) that derive some finite text. A name that is not
    one of `rules` (a terminal, a rule defined elsewhere) counts as productive."""
    programs = {name: _program(name, body, rules) for name, body in rules.items()}
    users: dict[str, set[str]] = {}
    for name, program in programs.items():
        for op, arg in program:
            if op == "v" and arg in programs:
                users.setdefault(str(arg), set()).add(name)
    productive: set[str] = set()
    todo = list(programs)
    while todo:
        name = todo.pop()
        if name in productive or not _holds(programs[name], productive):
            continue
        productive.add(name)
        todo.extend(users.get(name, ()))
    return productive


def _program(name: str, body: str, rules: Mapping[str, str]) -> Program:
    """`body` as a postfix program over rule names (each grouping level a frame: [alternatives
    closed, items in the current alternative, the bracket that opened it])."""
    program: Program = []
    frames: list[list] = [[0, 0, ""]]
    pos = 0
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None:
            raise MalformedGrammar(f"rule {name}: cannot read {body[pos:pos + 40]!r}")
        pos = match.end()
        frame = frames[-1]
        if match["literal"]:
            program.append(("v", True))
            frame[1] += 1
        elif match["name"]:
            program.append(("v", match["name"] if match["name"] in rules else True))
            frame[1] += 1
        elif match["least"] is not None:
            if int(match["least"]) == 0:
                program.append(("opt", 0))
        elif match["op"] in ("?", "*"):
            program.append(("opt", 0))
        elif match["op"] in ("(", "["):
            frames.append([0, 0, match["op"]])
        elif match["op"] == "|":
            program.append(("and", frame[1]))
            frame[0], frame[1] = frame[0] + 1, 0
        elif match["op"] in (")", "]"):
            if len(frames) == 1 or "([".index(frame[2]) != ")]".index(match["op"]):
                raise MalformedGrammar(f"rule {name}: unbalanced {match['op']!r}")
            program += [("and", frame[1]), ("or", frame[0] + 1)]
            if match["op"] == "]":
                program.append(("opt", 0))
            frames.pop()
            frames[-1][1] += 1
    if len(frames) != 1:
        raise MalformedGrammar(f"rule {name}: unclosed {frames[-1][2]!r}")
    program += [("and", frames[0][1]), ("or", frames[0][0] + 1)]
    charge(len(program))
    return program


def _holds(program: Program, productive: set[str]) -> bool:
    charge(len(program))
    stack: list[bool] = []
    for op, arg in program:
        if op == "v":
            stack.append(arg is True or arg in productive)
        elif op == "opt":
            stack[-1] = True
        else:
            n = int(arg)  # type: ignore[call-overload]
            values = stack[len(stack) - n:] if n else []
            del stack[len(stack) - n:]
            stack.append(all(values) if op == "and" else any(values))
    return stack[-1]
