"""JSON Schema to lark grammar text: the values a schema admits, as rules over JSON text.

`schema_to_grammar(schema)` gives a whole grammar (start = one value); `SchemaRules` embeds many
schemas (one per tool) in one grammar with non-clashing rule names, as JSON values or, for the
qwen3-xml dialect, as `<parameter=KEY>` blocks. The JSON primitives come from `json.lark`.

Two texts of one language: `schema_to_grammar` (and `SchemaRules.text`) is self-contained lark,
for people and for the test oracles; `schema_source` (`SchemaRules.compiled_text`) is what the
compiler reads. There, languages the compiler knows as character automata (the keys other than
the declared names, numbers under bounds) are `%declare`d terminals whose byte DFAs come built
(`spelled_dfa`), where the text spells them as a rule per state: lark reads a tenth of the
text and fusion has nothing to rebuild.

How values are written (see also `number_text` and `json_text`):
- objects: declared properties (`properties` of the object and of its `allOf`/`anyOf`/`oneOf`
  parts and `$ref`) in schema order, optional ones skippable; keys named only elsewhere
  (`required`, `if`/`then`/`else`, dependencies, `not`) and additional keys (when allowed)
  anywhere between them; `", "`/`","` and `": "`/`":"` separators; no other whitespace.
- arrays: prefix items, then `items`, counted against minItems/maxItems.
- `enum`/`const` values as json.dumps writes them (either separators; integral numbers as `1`
  or `1.0`; object keys in the order given).

What the schema means comes from `normalizer`, which refuses with `UnsupportedSchema` what it
cannot express exactly. A schema admitting no value raises `UnsatisfiableSchema`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import contextmanager
from functools import cache
from typing import Any, Iterator, NamedTuple

import jsonschema
from interegular.fsm import FSM

from a3agent.errors import GrammarError, GrammarTooComplex, UnsatisfiableSchema, UnsupportedSchema
from a3agent.grammars.engine.automata import MAX_SIGNED_STATES, TOO_LARGE_TO_SIGN, ByteDFA, regex_dfa
from a3agent.grammars.engine.byte_regex import Nodes
from a3agent.grammars.engine.limits import charge, check_count, compile_budget, limits
from a3agent.grammars.engine.lr import load_rules
from a3agent.grammars.schema.productive import productive_rules
from a3agent.grammars.engine.spelled_dfa import spelled_dfa
from a3agent.grammars.regex.error_path import building_at, current_path
from a3agent.grammars.schema.schema_document import check_document
from a3agent.grammars.regex.char_regex import (
    ANY_CHAR,
    Alt,
    NOTHING,
    Chars,
    Regex,
    char_set,
    complement,
    literal,
    repeat,
    seq,
    to_nodes,
    to_pattern,
)
from a3agent.grammars.schema.json_text import encode_json, json_char_spellings, json_chars, json_literal, json_string
from a3agent.grammars.schema.lark_text import RuleNames, co_reachable, lark_string, linear_rules, load_lark, terminal_text
from a3agent.grammars.schema.number_text import INTEGER_TEXT, NUMBER_TEXT, numeric_language
from a3agent.grammars.regex.regular import TooComplex, dfa_edges, everything_but, from_fsm, intersect, minimal, to_fsm
from a3agent.grammars.schema.normalizer import Normalizer
from a3agent.grammars.schema.reference_validator import meta_schema_fault
from a3agent.grammars.schema.schema_shapes import AnyValue, Arrays, Constants, Node, Numbers, Objects, Reference, Strings
from a3agent.grammars.schema.string_sets import ANY_STRING, StringSet

__all__ = ["GrammarSource", "SchemaRules", "schema_to_grammar", "schema_source", "with_json_primitives", "check_schema"]

_JSON_RULES = ("json_value", "json_object", "json_array")
_MAX_KEY_PATTERNS = 4
_XML_CLOSE = "</parameter>"
_XML_KEY = repeat(complement(char_set(">\n")), 1, None)
_INLINE_TERMINAL = 48
_MAX_PATTERN = 2000
_JSON_TERMINALS = frozenset({"comma", "colon", "string", "number", "integer"})
_PRIMITIVES = frozenset({"json_value", "STRING", "NUMBER", "INTEGER"})
_MAX_TRACKED_KEYS = 12
_STRING_ENUM_TERMINAL = 16
"""String constants beyond which they are one terminal rather than a rule of alternatives."""
_MAX_FREE_KEYS = 6


class SchemaRules:
    """Rules for the values of many schemas in one grammar, with non-clashing names.

    Example: `rules = SchemaRules(); name = rules.add(schema, "get_weather")`; `rules.text()`
    gives the rule lines (the JSON primitives of `json.lark` are not included).
    """

    def __init__(self, taken: frozenset[str] = frozenset()) -> None:
        self.names = RuleNames({"start", *_JSON_RULES, *taken})
        self.terminal_names = RuleNames(_JSON_TERMINALS | {t.lower() for t in taken})
        self.rules: dict[str, str] = {}
        self.terminals: dict[str, str] = {}
        self.automata: dict[str, ByteDFA] = {}
        """Terminals given as automata built directly (see `automaton_rule`), by name."""
        self._automaton_rules: dict[str, tuple[str, Callable[[dict[str, str]], str]]] = {}
        """Rule -> (its terminal, a writer of the same language as rules for the grammar text)."""
        self._written: dict[str, str] = {}
        """The automaton rules spelled so far by `text`, with their helper rules."""

    def terminal(self, r: Regex, hint: str) -> str:
        """A terminal for `r`: inline when short, else a named terminal shared by equal patterns."""
        text = terminal_text(r)
        if len(text) <= _INLINE_TERMINAL:
            return text
        if text not in self.terminals:
            self.terminals[text] = self.terminal_names.fresh(hint).upper()
        return self.terminals[text]

    def add(self, schema: Any, hint: str) -> str:
        """Compile `schema`; returns the rule whose language is its JSON values."""
        with bounded_compile():
            check_document(schema)
            compiler = _Compiler(self, Normalizer(schema))
            name = compiler.value((compiler.root,), hint)
            if compiler.recursive and name is not None:
                _check_productive(self, compiler.paths)
        if name is None:
            raise UnsatisfiableSchema("", "no JSON value satisfies every constraint")
        return name

    def add_xml_arguments(self, schema: Any, hint: str) -> str:
        """Compile a tool's parameters as qwen3-xml `<parameter=KEY>` blocks; returns an expression.

        A parameter whose schema admits only strings is written raw (never containing
        `</parameter>`), any other as JSON. The expression is '' when no parameter can appear.
        """
        with bounded_compile():
            check_document(schema)
            compiler = _Compiler(self, Normalizer(schema))
            shape = compiler.normalizer.shape(compiler.root)
            if not all(isinstance(s, Objects) for s in shape):
                raise UnsupportedSchema("", "type", "qwen3-xml arguments must be an object")
            options = [b for b in (compiler.xml_parameters(s, hint) for s in shape) if b is not None]
            if compiler.recursive:
                _check_productive(self, compiler.paths)
        if not options:
            raise UnsatisfiableSchema("", "no arguments object satisfies every constraint")
        non_empty = [o for o in dict.fromkeys(options) if o]
        if not non_empty:
            return ""
        body = " | ".join(non_empty)
        name = self.names.fresh(hint + "_parameters")
        self.rules[name] = body
        return f"{name}?" if "" in options else name

    def automaton_rule(self, hint: str, dfa: ByteDFA, write: Callable[[dict[str, str]], str]) -> str:
        """A rule for the language of `dfa`, a terminal the compiler gets as that automaton.

        `write(rules)` spells the same language as rules (returning the body, adding helper rules
        to `rules`) for the self-contained grammar text that people and the test oracles read;
        compiling never calls it."""
        rule = self.names.fresh(hint)
        terminal = self.terminal_names.fresh(hint).upper()
        self.automata[terminal] = dfa
        self._automaton_rules[rule] = (terminal, write)
        return rule

    def text(self) -> str:
        """The rules, then the named terminals, as self-contained lark text (the automata's
        languages spelled as rules)."""
        for rule, (_, write) in self._automaton_rules.items():
            if rule not in self._written:  # each spelled once, also when schemas are added later
                self._written[rule] = write(self._written)
        return self._lines(self._written)

    def compiled_text(self) -> str:
        """The text the compiler reads: the automata as `%declare`d terminals (`self.automata`)."""
        # each rule is at least one BNF rule: past the limit, refuse before lark reads the text
        check_count(len(self.rules) + len(self._automaton_rules), "grammar_rules", "", "the grammar's rules")
        text = self._lines({rule: terminal for rule, (terminal, _) in self._automaton_rules.items()})
        return text + "".join(f"%declare {name}\n" for name in self.automata)

    def _lines(self, extra: dict[str, str]) -> str:
        rules = "".join(f"{name}: {body}\n" for name, body in {**self.rules, **extra}.items())
        terminals = "".join(f"{name}: {text}\n" for text, name in self.terminals.items())
        return rules + ("\n" + terminals if terminals else "")


class _Compiler:
    """Compiles the nodes of one root schema into the rules of a SchemaRules."""

    def __init__(self, owner: SchemaRules, normalizer: Normalizer) -> None:
        self.owner, self.normalizer = owner, normalizer
        self.root = normalizer.root
        self.memo: dict[tuple[str, ...], str | None] = {}
        self.pending: dict[tuple[str, ...], bool] = {}
        self.depth = 0
        self.recursive = False
        """Whether some rule refers to itself: then some may have no finite value."""
        self.paths: dict[str, str] = {}
        """Rule name -> JSON path of the node it was compiled from (for errors)."""
        """Values being compiled inside each other (subschemas, `$ref`s followed): `schema_depth`."""

    # -- values -------------------------------------------------------------------------------

    def value(self, nodes: tuple[Node, ...], hint: str) -> str | None:
        """The rule for the values satisfying every node; None when there are none."""
        key = tuple(sorted(n.key for n in nodes))
        if key in self.pending:
            self.pending[key] = True
        if key in self.memo:
            return self.memo[key]
        name = self.owner.names.fresh(hint)
        self.memo[key], self.pending[key] = name, False
        where = nodes[0] if nodes else self.root
        charge(1, where.path)
        check_count(self.depth + 1, "schema_depth", where.path, "subschemas and references nested this deep")
        self.depth += 1
        try:
            with building_at(where.path):
                shape = self.normalizer.shape_of_all(nodes)
                options = [e for e in (self.shape_expr(s, where, hint) for s in shape) if e is not None]
        finally:
            self.depth -= 1
        referenced = self.pending.pop(key)
        self.recursive = self.recursive or referenced
        self.paths[name] = where.path
        if not options:
            if referenced:
                raise UnsupportedSchema(where.path, "$ref", "a recursive schema with no finite value")
            self.memo[key] = None
            return None
        body = " | ".join(dict.fromkeys(options))
        if body in _PRIMITIVES and not referenced:
            self.memo[key] = body
            return body
        self.owner.rules[name] = body
        return name

    def shape_expr(self, s: Any, where: Node, hint: str) -> str | None:
        if isinstance(s, AnyValue):
            return "json_value"
        if isinstance(s, Constants):
            strings = [v for v in s.values if isinstance(v, str)]
            if len(strings) > _STRING_ENUM_TERMINAL:  # one terminal: its automaton is the values' trie
                others = [_constant_expr(v) for v in s.values if not isinstance(v, str)]
                spelled = self.owner.terminal(Alt(tuple(json_literal(v) for v in strings)), hint)
                return " | ".join(dict.fromkeys([spelled, *others]))
            return " | ".join(dict.fromkeys(_constant_expr(v) for v in s.values))
        if isinstance(s, Numbers):
            return self.numbers(s, where, hint)
        if isinstance(s, Strings):
            return self.strings(s.strings, where, hint)
        if isinstance(s, Arrays):
            return self.array(s, hint)
        if isinstance(s, Objects):
            return self.json_object(s, where, hint)
        assert isinstance(s, Reference)
        return self.value((s.node,), s.node.path.rsplit("/", 1)[-1] or hint)

    def numbers(self, s: Numbers, where: Node, hint: str) -> str | None:
        try:
            language = numeric_language(s.integer, s.lo, s.hi, s.step, s.avoid)
        except TooComplex as e:
            raise UnsupportedSchema(where.path, "multipleOf", str(e)) from None
        if isinstance(language, FSM):
            initial, finals, edges = dfa_edges(language)
            shape = _canonical(initial, finals, edges)
            if shape is None:
                return None

            def write(rules: dict[str, str]) -> str:
                moves = {state: [(terminal_text(c), t) for t, c in row.items()] for state, row in edges.items()}
                return linear_rules(initial, moves, finals, hint + "_digits", self.owner.names, rules) or ""

            return self.owner.automaton_rule(hint + "_digits", _automaton(shape, False, where.path), write)
        primitive = {INTEGER_TEXT: "INTEGER", NUMBER_TEXT: "NUMBER"}.get(language)
        if primitive:
            return primitive
        return None if language == NOTHING else self.owner.terminal(language, hint)

    def strings(self, strings: StringSet, where: Node, hint: str) -> str | None:
        """JSON strings of the set: literals, one terminal, or a character automaton."""
        values = strings.finite()
        if values is not None:
            return " | ".join(self.owner.terminal(json_literal(v), hint) for v in values) or None
        if strings == ANY_STRING:
            return "STRING"
        if strings.excludes_only_words():
            return self.string_automaton(*_trie_automaton(strings.banned), hint)
        try:
            language = strings.language
            if language == NOTHING:
                return None
            encoded = json_string(language)
            if len(to_pattern(encoded)) <= _MAX_PATTERN:
                return self.owner.terminal(encoded, hint)
            fsm = to_fsm(language)
        except TooComplex:
            fsm = _string_fsm(strings, where)
        return self.string_automaton(*dfa_edges(minimal(fsm)), hint)

    def string_automaton(self, initial: object, finals: set, edges: dict[object, dict[object, Chars]], hint: str) -> str | None:
        """A quoted JSON string from a DFA over decoded characters: one terminal, its byte DFA
        built directly (`spelled_dfa`); the grammar text spells it as a rule per state.

        For languages whose single regex would be huge (keys other than the declared names): the
        DFA is small, the regex is not.
        """
        shape = _canonical(initial, finals, edges)
        if shape is None:
            return None
        return self.owner.automaton_rule(
            hint, _automaton(shape, True, current_path()), lambda rules: self.string_rules(initial, finals, edges, hint, rules))

    def string_rules(self, initial: object, finals: set, edges: dict[object, dict[object, Chars]], hint: str,
                     rules: dict[str, str]) -> str:
        """`string_automaton`'s language as rules over character terminals (for the grammar text)."""
        end = object()
        tail = self.owner.terminal(seq(encode_json(repeat(ANY_CHAR, 0, None)), literal('"')), "string_rest")
        moves: dict[object, list[tuple[str, object]]] = {end: []}
        for state, row in edges.items():
            if state in finals and row == {state: ANY_CHAR}:
                moves[state] = [(tail, end)]
                continue
            moves[state] = [
                (self.owner.terminal(spelling, hint + "_char"), t)
                for t, c in row.items()
                for spelling in json_char_spellings(c)
            ]
            if state in finals:
                moves[state].append((lark_string('"'), end))
        body = linear_rules(initial, moves, {end}, hint, self.owner.names, rules)
        return f"{lark_string(chr(34))} {body}"

    # -- arrays -------------------------------------------------------------------------------

    def array(self, s: Arrays, hint: str) -> str | None:
        elements: list[str] = []
        most = s.max_items
        for i, nodes in enumerate(s.prefix):
            expr = self.value(nodes, f"{hint}_item{i}")
            if expr is None:
                most = i if most is None else min(most, i)
                break
            elements.append(expr)
        rest = None if s.rest is None else self.value(s.rest, f"{hint}_item")
        if rest is None:
            most = len(elements) if most is None else min(most, len(elements))
        if most is not None and most < s.min_items:
            return None
        if most == 0:
            return '"[" "]"'

        first = elements[0] if elements else rest
        body = " ".join(x for x in (first, self.items_after(elements, rest, s.min_items, most, hint)) if x)
        return f'"[" {body} "]"' if s.min_items > 0 else f'"[" ({body})? "]"'

    def items_after(self, elements: list[str], rest: str | None, least: int, most: int | None, hint: str) -> str:
        """The items after the first: one state per prefix item (written as rules, not nested
        groups, so 5,000 prefix items nest nothing), a run of equal prefix items as one counted
        repeat (and a shorter repeat where the array may end inside the run), then `rest` as a
        counted repeat."""
        top = max(len(elements), 1) if most is None else min(max(len(elements), 1), most)
        moves: dict[object, list[tuple[str, object]]] = {}
        starts: list[int] = []  # the states left: one per run of equal prefix items
        j = 1
        while j < top:
            starts.append(j)
            run = 1
            while j + run < top and elements[j + run] == elements[j]:
                run += 1
            item = f"COMMA {elements[j]}"
            moves[j] = [(item if run == 1 else _repeat(item, run, run), j + run)]
            inside = max(1, least - j)  # items of the run the array needs before it may end inside it
            if run > 1 and inside < run:
                moves[j].append((_repeat(item, inside, run - 1), "end"))
            j += run
        tail = "" if most is not None and top >= most else _repeat(
            f"COMMA {rest}", max(least - top, 0), None if most is None else most - top)
        moves[top] = [(tail, "end")] if tail else []
        finals: set[object] = {j for j in starts if j >= least} | {"end"} | ({top} if not tail else set())
        return linear_rules(1, moves, finals, hint + "_items", self.owner.names, self.owner.rules) or ""

    # -- objects ------------------------------------------------------------------------------

    def declared(self, s: Objects, hint: str) -> list[tuple[str, tuple[Node, ...], str, bool, bool]] | None:
        """(name, nodes, value rule, required, free) per named key, slots in schema order first, then
        the free keys (named only outside ordered parts: see ObjectPart); None if impossible."""
        names = list(dict.fromkeys(name for part in s.parts if part.ordered for name, _ in part.properties))
        slots = len(names)
        names += sorted({name for part in s.parts for name, _ in part.properties} - set(names))
        names += sorted(_mentioned(s) - set(names))
        out = []
        for k, name in enumerate(names):
            nodes = self.normalizer.value_nodes(s, name)
            value = self.value(nodes, f"{hint}_{name}")
            if value is None and name in s.required:
                return None
            if value is not None:
                out.append((name, nodes, value, name in s.required, k >= slots))
        return out

    def extras(self, s: Objects, where: Node, hint: str, keys_within: StringSet) -> list[tuple[StringSet, tuple[Node, ...], str]]:
        """(keys, value nodes, value rule) per region of undeclared keys."""
        declared = frozenset(name for part in s.parts for name, _ in part.properties) | _mentioned(s)
        patterns = [(p, i, j) for i, part in enumerate(s.parts) for j, (p, _) in enumerate(part.patterns)]
        if len(patterns) > _MAX_KEY_PATTERNS:
            raise UnsupportedSchema(where.path, "patternProperties", f"more than {_MAX_KEY_PATTERNS} key patterns")
        out = []
        for mask in range(2 ** len(patterns)):
            inside = [patterns[k] for k in range(len(patterns)) if mask >> k & 1]
            outside = [patterns[k][0] for k in range(len(patterns)) if not mask >> k & 1]
            nodes = tuple(dict.fromkeys(
                n for i, part in enumerate(s.parts) for n in part.nodes_for(None, [j for _, pi, j in inside if pi == i])))
            value = self.value(nodes, f"{hint}_extra")
            if value is None:
                continue
            keys = StringSet(patterns=tuple(p for p, _, _ in inside), excluded=tuple(outside))
            keys = keys.intersect(s.names).intersect(keys_within).without(declared)
            try:
                if not keys.is_empty():
                    out.append((keys, nodes, value))
            except TooComplex as e:
                raise UnsupportedSchema(where.path, "patternProperties", str(e)) from None
        return out

    def json_object(self, s: Objects, where: Node, hint: str) -> str | None:
        declared = self.declared(s, hint)
        if declared is None:
            return None
        members = [(name, f"{self.owner.terminal(json_literal(name), hint + '_key')} COLON {value}", required, free)
                   for name, _, value, required, free in declared]
        extras = [f"{_group(keys_text)} COLON {value}"  # keys no text can spell (None) take no member
                  for keys, _, value in self.extras(s, where, hint, ANY_STRING)
                  if (keys_text := self.strings(keys, where, hint + '_key')) is not None]
        body = self.members(members, extras, s, where, "COMMA", hint)
        if body is None:
            return None
        return f'"{{" {body} "}}"' if body else '"{" "}"'

    def members(self, members: list[tuple[str, str, bool, bool]], extras: list[str], s: Objects, where: Node, sep: str,
                hint: str) -> str | None:
        """The members as an automaton over (slot, count so far, tracked keys present): '' if empty.

        `members` are (name, pair text, required, free). Slots are the non-free keys in order;
        free keys may come between any two, once each, and so may undeclared pairs, and optional
        keys past `Limits.ordered_optional_keys` (`_loosened`). Counts stop at what
        min/maxProperties can tell apart; only free keys and keys named by presence rules are
        tracked.
        """
        slots = [(name, pair, required) for name, pair, required, free in members if not free]
        free = [(name, pair, required) for name, pair, required, is_free in members if is_free]
        if len(free) > _MAX_FREE_KEYS:
            raise UnsupportedSchema(where.path, "properties",
                                    f"more than {_MAX_FREE_KEYS} keys named outside `properties` (they may come in any order)")
        tracked = sorted(frozenset().union(*(p.names for p in s.presence), (name for name, _, _ in free)))
        slots, loose = _loosened(slots, tracked, s)
        extras = extras + loose
        extra = ""
        if extras:
            extra = self.owner.names.fresh(hint + "_other")
            self.owner.rules[extra] = " | ".join(extras)
        if extra and not slots and not tracked:
            return self.counted_members(extra, s, sep)
        cap = s.max_props if s.max_props is not None else max(s.min_props, 1)
        check_count((len(slots) + 1) * (cap + 1) << len(free), "object_states", where.path,
                    "states to track declared keys against the property count")
        if len(tracked) > _MAX_TRACKED_KEYS:
            raise UnsupportedSchema(where.path, "required", f"presence rules over more than {_MAX_TRACKED_KEYS} keys")
        bits = {name: 1 << k for k, name in enumerate(tracked)}
        must = sum(bits[name] for name, _, required in free if required)
        transitions: dict[tuple[int, int, int], list[tuple[str, tuple[int, int, int]]]] = {}
        finals = set()
        todo = [(0, 0, 0)]
        while todo:
            state = todo.pop()
            if state in transitions:
                continue
            i, count, mask = state
            moves = transitions[state] = []
            lead = sep if count else ""
            after = count + 1 if s.max_props is not None else min(count + 1, cap)
            room = s.max_props is None or count < s.max_props
            if extra and room:
                moves.append((_join(lead, extra), (i, after, mask)))
            for name, pair, _ in free:
                if room and not mask & bits[name]:
                    moves.append((_join(lead, pair), (i, after, mask | bits[name])))
            if i < len(slots):
                name, pair, required = slots[i]
                if room:
                    moves.append((_join(lead, pair), (i + 1, after, mask | bits.get(name, 0))))
                if not required:
                    moves.append(("", (i + 1, count, mask)))
            elif (count >= s.min_props and mask & must == must
                  and all(p.holds(_present(mask, tracked)) for p in s.presence)):
                finals.add(state)
            todo.extend(target for _, target in moves)
        return linear_rules((0, 0, 0), transitions, finals, hint + "_members", self.owner.names, self.owner.rules)

    def counted_members(self, pair: str, s: Objects, sep: str) -> str | None:
        """Members that are all undeclared pairs (the rule `pair`), nothing tracked per key: a
        counted repeat, as array items are (lark writes `~n` with helper rules logarithmic in n),
        so `minProperties: 5000` is a few rules rather than a state per count."""
        least, most = s.min_props, s.max_props
        if most is not None and most < least:
            return None
        if most == 0:
            return ""
        body = _join(pair, _repeat(_join(sep, pair), max(least - 1, 0), None if most is None else most - 1))
        return body if least > 0 else f"({body})?"

    # -- qwen3-xml ----------------------------------------------------------------------------

    def xml_parameters(self, s: Objects, hint: str) -> str | None:
        """Parameter blocks for one object shape; None when impossible, '' when always empty."""
        declared = self.declared(s, hint)
        if declared is None:
            return None
        close = lark_string("\n" + _XML_CLOSE + "\n")
        members = [(name, _join(lark_string(f"<parameter={name}>\n"), self.xml_value(nodes, value, hint), close),
                    required, free)
                   for name, nodes, value, required, free in declared]
        extras = [_join('"<parameter="', self.owner.terminal(_language(keys, self.root, "patternProperties"), hint + "_key"),
                        '">\\n"', self.xml_value(nodes, value, hint), close)
                  for keys, nodes, value in self.extras(s, self.root, hint, StringSet(patterns=(_XML_KEY,)))]
        return self.members(members, extras, s, self.root, "", hint)

    def xml_value(self, nodes: tuple[Node, ...], json_rule: str, hint: str) -> str:
        """String values as raw text, other values as JSON (qwen3-xml reads a value as JSON when it
        parses and is not a string, else as the raw string)."""
        shape = self.normalizer.shape_of_all(nodes)
        strings = [Strings() if isinstance(x, AnyValue) else x for x in shape if _admits_strings(x)]
        if not strings:
            return json_rule
        options: list[str] = [json_rule] if any(not _only_strings(x) for x in shape) else []
        nullable = False
        for x in strings:
            if isinstance(x, Constants):
                options += [lark_string(v) for v in x.values if v and _XML_CLOSE not in v]
                nullable = nullable or "" in x.values
            else:
                language = _raw_language(x.strings, nodes[0] if nodes else self.root)
                if language != NOTHING:
                    options.append(self.owner.terminal(language, hint + "_text"))
                nullable = nullable or "" in x.strings
        body = " | ".join(dict.fromkeys(options))
        if not body:
            return ""
        return f"({body})?" if nullable else (f"({body})" if "|" in body else body)


def _loosened(slots: list[tuple[str, str, bool]], tracked: list[str], s: Objects) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """The slots kept in order, and the pairs of the optional keys past `Limits.ordered_optional_keys`
    (untracked ones), which may then come anywhere, any number of times, as undeclared pairs do.

    In order, each optional key may follow any earlier one up to the next required key, and the
    LALR analysis of that chain grows faster than the square of its length (32 keys: 50 ms, 64:
    0.2 s, 200: 1.8 s on the reference machine); a loop over a set of pairs is linear. Every
    instance in schema order is still accepted. Not done where a repeated key could count towards
    minProperties beyond the required keys (it would accept an object with too few distinct keys)."""
    tracked_names = set(tracked)
    optional = [k for k, (name, _, required) in enumerate(slots) if not required and name not in tracked_names]
    keep = limits().ordered_optional_keys
    if len(optional) <= keep or s.min_props > sum(required for _, _, required in slots):
        return slots, []
    loose = set(optional[keep:])
    return [slot for k, slot in enumerate(slots) if k not in loose], [slots[k][1] for k in sorted(loose)]


def _mentioned(s: Objects) -> frozenset[str]:
    """Keys the object names outside `properties`: required ones and those of presence rules."""
    return s.required.union(*(p.names for p in s.presence))


def _present(mask: int, tracked: list[str]) -> frozenset[str]:
    return frozenset(name for k, name in enumerate(tracked) if mask >> k & 1)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def _trie_automaton(words: frozenset[str]) -> tuple[object, set, dict[object, dict[object, Chars]]]:
    """The DFA of every string but `words`: trie nodes (numbered), plus -1 for 'left the trie'.

    Linear in the words' length; GrammarTooComplex past `schema_dfa_states` trie nodes (each is a
    grammar rule), as for 10,000 declared names with additional keys allowed."""
    left = -1
    children: list[dict[str, int]] = [{}]
    ends: set[int] = set()
    for word in sorted(words):
        node = 0
        for ch in word:
            if ch not in children[node]:
                check_count(len(children) + 1, "schema_dfa_states", current_path(), "states of the undeclared-key automaton")
                children[node][ch] = len(children)
                children.append({})
            node = children[node][ch]
        ends.add(node)
    edges: dict[object, dict[object, Chars]] = {left: {left: ANY_CHAR}}
    for node, kids in enumerate(children):
        edges[node] = {child: char_set(ch) for ch, child in kids.items()}
        edges[node][left] = complement(char_set("".join(kids)))
    finals = {node for node in range(len(children)) if node not in ends} | {left}
    return 0, finals, edges


Shape = tuple[tuple[bool, tuple[tuple[tuple[tuple[int, int], ...], int], ...]], ...]
"""A character DFA in canonical form: per state (numbered breadth first from the start), whether
it is final and its edges as (character ranges, target), in order."""
_AUTOMATA: OrderedDict[tuple[Shape, bool], ByteDFA] = OrderedDict()
_AUTOMATA_STATES = 40_000
"""States the memoised automata may hold together, the oldest going first: about 200 MB, at about
5 KB a state once masks have used an automaton (its 1 KB row, the same row as Python tuples for
the byte-at-a-time walks, and the per-state caches). 200,000 states held about 950 MB."""
_HELD = [0]
"""States `_AUTOMATA` holds now."""


def _canonical(initial: Hashable, finals: set, edges: dict[Any, dict[Any, Chars]]) -> Shape | None:
    """The canonical form of the part of the DFA that can reach a final state; None if none is
    reachable. Equal automata (same schema compiled again, keys shared by tools) get equal forms."""
    live = co_reachable({state: [("", target) for target in row] for state, row in edges.items()}, finals)
    if initial not in live:
        return None
    number, order = {initial: 0}, [initial]
    shape = []
    for state in order:  # grows as states are met
        charge(1)
        out = []
        for target, c in sorted(edges.get(state, {}).items(), key=lambda edge: edge[1].ranges):
            if target in live:
                if target not in number:
                    number[target] = len(order)
                    order.append(target)
                out.append((c.ranges, number[target]))
        shape.append((state in finals, tuple(out)))
    return tuple(shape)


_ARENA: list[tuple[Nodes, dict[tuple[tuple[tuple[int, int], ...], bool], int]]] = []
_ARENA_NODES = 200_000
"""Regex nodes the shared spelling arena may hold before it starts afresh (about 100 MB)."""


def _spelling_arena() -> tuple[Nodes, dict[tuple[tuple[tuple[int, int], ...], bool], int]]:
    """One regex arena for every character automaton, with the spellings made in it: the same
    character classes (and their derivatives) recur across keys, schemas and tools. The DFAs
    built from it are plain tables, so starting afresh past `_ARENA_NODES` loses only time."""
    if not _ARENA or len(_ARENA[0][0].kinds) > _ARENA_NODES:
        _ARENA[:] = [(Nodes(), {})]
    return _ARENA[0]


def _automaton(shape: Shape, quoted: bool, path: str) -> ByteDFA:
    """The byte DFA of a character DFA: as a quoted JSON string (every spelling of each character)
    when `quoted`, else as raw UTF-8 text. Memoised by shape."""
    key = (shape, quoted)
    dfa = _AUTOMATA.get(key)
    if dfa is not None:
        _AUTOMATA.move_to_end(key)
        return dfa
    nodes, spellings = _spelling_arena()

    def spell(ranges: tuple[tuple[int, int], ...]) -> int:
        key = (ranges, quoted)
        if key not in spellings:
            spellings[key] = to_nodes(json_chars(Chars(ranges)), nodes) if quoted else nodes.chars(ranges)
        return spellings[key]

    edges: dict[int, list[tuple[int, int]]] = {}
    for state, (final, out) in enumerate(shape):
        edges[state] = [(spell(ranges), target) for ranges, target in out]
    start, end = 0, len(shape)
    if quoted:
        quote = nodes.chars([(0x22, 0x22)])
        start, end = len(shape), len(shape) + 1
        edges[start] = [(quote, 0)]
        for state, (final, _) in enumerate(shape):
            if final:
                edges[state].append((quote, end))
        finals = frozenset({end})
    else:
        finals = frozenset(state for state, (final, _) in enumerate(shape) if final)

    def structure_of(state: int) -> Hashable | None:
        if state >= len(shape):  # the opening quote's state, or the closing one's
            return None
        part = _part(shape, state)
        if part is None:
            return TOO_LARGE_TO_SIGN
        # a digest, so the process-wide memo of these keys holds 16 bytes each, not the parts
        return hashlib.blake2b(repr((quoted, part)).encode(), digest_size=16).digest()

    dfa = _AUTOMATA[key] = spelled_dfa(nodes, start, finals, edges, path, structure_of)
    _HELD[0] += dfa.n_states
    while len(_AUTOMATA) > 1 and _HELD[0] > _AUTOMATA_STATES:
        _HELD[0] -= _AUTOMATA.popitem(last=False)[1].n_states
    return dfa


def _part(shape: Shape, state: int) -> Shape | None:
    """The part of a canonical character DFA reachable from `state`, in canonical form itself
    (numbered breadth first from it, edges in order); None past `MAX_SIGNED_STATES` states. The
    state then goes unsigned without a walk: its byte automaton has more states still (each
    character state is one or more byte states) unless minimising merged some, and a state left
    unsigned only forgoes sharing its tables."""
    number, order = {state: 0}, [state]
    part = []
    for s in order:  # grows as states are met
        final, out = shape[s]
        edges = []
        for ranges, target in out:
            if target not in number:
                if len(order) >= MAX_SIGNED_STATES:
                    return None
                number[target] = len(order)
                order.append(target)
            edges.append((ranges, number[target]))
        part.append((final, tuple(edges)))
    return tuple(part)


def _check_productive(rules: SchemaRules, paths: dict[str, str]) -> None:
    """Refuse a recursive schema some rule of which derives no finite text (`{"$ref": "#"}`, an
    object that requires itself): such a rule would never let a value end."""
    productive = productive_rules(rules.rules)
    for name in rules.rules:
        if name not in productive:
            raise UnsupportedSchema(paths.get(name, ""), "$ref", "a recursive schema with no finite value")


def _admits_strings(shape: Any) -> bool:
    return isinstance(shape, AnyValue) or _only_strings(shape)


def _only_strings(shape: Any) -> bool:
    return isinstance(shape, Strings) or (isinstance(shape, Constants) and all(isinstance(v, str) for v in shape.values))


def _string_fsm(strings: StringSet, where: Node) -> FSM:
    try:
        return strings.fsm()
    except TooComplex as e:
        keyword = "pattern" if strings.patterns else "not" if strings.excluded else "maxLength"
        raise UnsupportedSchema(where.path, keyword, str(e)) from None


def _language(strings: StringSet, where: Node, keyword: str) -> Regex:
    try:
        return strings.language
    except TooComplex as e:
        raise UnsupportedSchema(where.path, keyword, str(e)) from None


@cache
def _without_close() -> FSM:
    anywhere = repeat(ANY_CHAR, 0, None)
    return everything_but(to_fsm(seq(anywhere, literal(_XML_CLOSE), anywhere)))


def _raw_language(strings: StringSet, where: Node) -> Regex:
    """The non-empty strings of the set that do not contain `</parameter>`, as raw text."""
    fsm = intersect(to_fsm(_language(strings, where, "pattern")), _without_close(), to_fsm(repeat(ANY_CHAR, 1, None)))
    try:
        return from_fsm(fsm)
    except TooComplex as e:
        raise UnsupportedSchema(where.path, "pattern", str(e)) from None


def _repeat(item: str, low: int, high: int | None) -> str:
    if high is not None and high <= 0:
        return ""
    if high is None:
        return f"({item})*" if low == 0 else f"({item})~{low} ({item})*"
    if (low, high) == (0, 1):
        return f"({item})?"
    return f"({item})~{low}" if low == high else f"({item})~{low}..{high}"


def _constant_expr(value: Any) -> str:
    """A lark expression for the JSON texts of one value (either separators, int/float forms)."""
    if value is None or isinstance(value, bool):
        return lark_string(json.dumps(value))
    if isinstance(value, (int, float)):
        forms = [json.dumps(value)]
        if math.isfinite(value) and value == int(value):
            forms.append(json.dumps(int(value)))
            if float(value) == value:
                forms.append(json.dumps(float(value)))
        return " | ".join(lark_string(t) for t in dict.fromkeys(forms))
    if isinstance(value, str):
        return terminal_text(json_literal(value))
    if isinstance(value, list):
        inner = " COMMA ".join(_group(_constant_expr(v)) for v in value)
        return f'"[" {inner} "]"' if inner else '"[" "]"'
    inner = " COMMA ".join(f"{terminal_text(json_literal(k))} COLON {_group(_constant_expr(v))}" for k, v in value.items())
    return f'"{{" {inner} "}}"' if inner else '"{" "}"'


def _group(expr: str) -> str:
    return f"({expr})" if "|" in expr else expr


class GrammarSource(NamedTuple):
    """What the compiler reads: lark text whose `%declare`d terminals come as automata."""

    text: str
    automata: dict[str, ByteDFA]


def schema_to_grammar(schema: Any) -> str:
    """The whole lark grammar (start = one JSON value) of a JSON Schema, self-contained.

    Raises UnsupportedSchema (JSON pointer + keyword), GrammarTooComplex (past a `Limits` field,
    within `compile_seconds`) or UnsatisfiableSchema.
    """
    rules = SchemaRules()
    root = rules.add(schema, "root")
    return f"start: {root}\n\n{rules.text()}\n{load_lark(__package__, 'json.lark')}"


def schema_source(schema: Any) -> GrammarSource:
    """`schema_to_grammar`'s language as the compiler reads it (see `SchemaRules.compiled_text`).

    The compiler reads the keywords it knows as their draft defines them; one whose value is
    malformed (`"required": 5`, `"allOf": true`) may fail it anywhere. Such a failure is refused
    as the draft's meta-schema sees the schema (`UnsupportedSchema` naming the keyword); on a
    schema the meta-schema accepts it is the compiler's own fault, and raised as it is."""
    try:
        rules = SchemaRules()
        root = rules.add(schema, "root")
    except GrammarError:
        raise
    except (TypeError, AttributeError, ValueError, LookupError, ArithmeticError, jsonschema.exceptions.UnknownType):
        fault = meta_schema_fault(schema)
        if fault is None:
            raise
        raise fault from None
    return with_json_primitives(f"start: {root}\n\n{rules.compiled_text()}", rules.automata)


def with_json_primitives(text: str, automata: dict[str, ByteDFA]) -> GrammarSource:
    """`text` completed by `json.lark` for the compiler: its terminals `%declare`d and given as
    automata (lark need not read their long regexes again), its rules only when `text` uses them."""
    rules, terminals = _json_primitives()
    needed = rules if _USES_JSON_RULES.search(text) else ""
    declared = "".join(f"%declare {name}\n" for name in terminals)
    return GrammarSource("\n".join((text, needed, declared)), {**automata, **terminals})


_USES_JSON_RULES = re.compile(r"\bjson_(?:value|object|array)\b")


@cache
def _json_primitives() -> tuple[str, dict[str, ByteDFA]]:
    """`json.lark`'s rule lines, and its terminals as automata (read once with lark)."""
    text = load_lark(__package__, "json.lark")
    names = [line.split(":")[0].strip() for line in text.splitlines() if line[:1].isupper()]
    definitions, _ = load_rules(text + f"\nstart: {' '.join(names)}\n")
    automata = {}
    for definition in (d for d in definitions if d.name in names):
        dfa = regex_dfa(definition.pattern.to_regexp())
        assert isinstance(dfa, ByteDFA), "json.lark's terminals are small automata"
        automata[definition.name] = dfa
    rules = "".join(line + "\n" for line in text.splitlines() if line[:1].islower())
    return rules, automata


@contextmanager
def bounded_compile() -> Iterator[None]:
    """The compile budget, plus a last guard: `schema_depth` is meant to trip before Python's
    recursion limit does, but a raised `schema_depth` may outgrow the stack."""
    with compile_budget():
        try:
            yield
        except RecursionError:
            raise GrammarTooComplex(current_path(), "schema_depth", limits().schema_depth,
                                    "deeper than Python's recursion limit allows") from None


def check_schema(schema: Any) -> None:
    """Compile `schema` and discard the result: raises what `schema_to_grammar` raises."""
    schema_source(schema)
