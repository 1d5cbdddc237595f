"""Our LALR(1) analysis (`engine/lalr.py`) against two oracles.

- lark's `LALR_Analyzer`, which it replaced for its unbounded cost: both must build the same LR(0)
  automaton (states compared by their kernel items, whatever their numbering) with the same shifts
  and gotos, and every lookahead we give a reduction lark gives it too. lark gives a few more: it
  also follows *includes* from items whose dot is not at the start (a known over-approximation,
  harmless to its parser and to ours, which keeps every action).
- LALR(1) by its definition: canonical LR(1) item sets merged by their LR(0) cores, built naively
  here for small grammars. Our lookaheads must equal these exactly.

Grammars: hand-written shapes that stress each relation (nullable chains for *reads*, nullable
suffixes for *includes*, left and right recursion, empty rules, conflicts), the turn and schema
grammars the engine builds, and seeded random grammars.
"""

from __future__ import annotations

import random

import pytest
from lark.common import ParserConf
from lark.grammar import NonTerminal, Rule, Terminal
from lark.parsers.lalr_analysis import LALR_Analyzer

from a3agent.errors import GrammarTooComplex, MalformedGrammar
from a3agent.grammars.engine.lalr import analyse
from a3agent.grammars.engine.limits import compile_budget, limits, set_limits
from a3agent.grammars.engine.lr import LRTable, Stack, load_rules, stack_states
from a3agent.grammars.schema.json_schema import schema_source

Item = tuple[str, tuple[str, ...], int]


def _lark_view(rules: list[Rule]) -> dict[frozenset[Item], tuple[dict, dict]]:
    analyzer = LALR_Analyzer(ParserConf(rules, {}, ["start"]))
    analyzer.compute_lr0_states()
    analyzer.compute_reads_relations()
    analyzer.compute_includes_lookback()
    analyzer.compute_lookaheads()

    def kernel(state) -> frozenset[Item]:
        return frozenset((str(rp.rule.origin.name), tuple(str(s.name) for s in rp.rule.expansion), rp.index)
                         for rp in state.kernel)

    view = {}
    for state in analyzer.lr0_itemsets:
        moves = {str(sym.name): kernel(target) for sym, target in state.transitions.items()}
        reduces: dict[str, set] = {}
        for lookahead, reduced in state.lookaheads.items():
            for rule in reduced:
                reduces.setdefault(str(lookahead.name), set()).add(
                    (str(rule.origin.name), tuple(str(s.name) for s in rule.expansion)))
        view[kernel(state)] = (moves, reduces)
    return view


def _our_view(rules: list[Rule]) -> dict[frozenset[Item], tuple[dict, dict]]:
    terminals = {str(s.name) for rule in rules for s in rule.expansion if s.is_term}
    tables = analyse([(str(r.origin.name), tuple(str(s.name) for s in r.expansion)) for r in rules], terminals)

    def kernel(q: int) -> frozenset[Item]:
        return frozenset((*tables.rules[r], dot) for r, dot in tables.kernels[q])

    view = {}
    for q in range(len(tables.kernels)):
        moves = {sym: kernel(t) for sym, t in {**tables.shifts[q], **tables.gotos[q]}.items()}
        reduces = {la: {tables.rules[r] for r in rs} for la, rs in tables.reduces[q].items()}
        view[kernel(q)] = (moves, reduces)
    return view


def _same_as_lark(rules: list[Rule]) -> None:
    ours, theirs = _our_view(rules), _lark_view(rules)
    assert ours.keys() == theirs.keys()
    for kernel, (moves, reduces) in theirs.items():
        assert ours[kernel][0] == moves, sorted(kernel)
        for lookahead, reduced in ours[kernel][1].items():
            assert reduced <= reduces.get(lookahead, set()), (sorted(kernel), lookahead)


def _canonical_lalr(rules: list[Rule]) -> dict[frozenset[Item], dict[str, set]]:
    """Per LR(0) kernel, the reductions by lookahead: canonical LR(1) states merged by core."""
    plain = [("$root_start", ("start",))] + [(str(r.origin.name), tuple(str(s.name) for s in r.expansion)) for r in rules]
    nonterminals = {lhs for lhs, _ in plain}
    first: dict[str, set[str]] = {lhs: set() for lhs in nonterminals}
    nullable: set[str] = set()
    changed = True
    while changed:
        changed = False
        for lhs, rhs in plain:
            before = (len(first[lhs]), lhs in nullable)
            for sym in rhs:
                first[lhs] |= first[sym] if sym in nonterminals else {sym}
                if sym not in nullable:
                    break
            else:
                nullable.add(lhs)
            changed |= before != (len(first[lhs]), lhs in nullable)

    def first_of(symbols: tuple[str, ...], lookahead: str) -> set[str]:
        out: set[str] = set()
        for sym in symbols:
            out |= first[sym] if sym in nonterminals else {sym}
            if sym not in nullable:
                return out
        return out | {lookahead}

    def closure(items: frozenset) -> frozenset:
        todo, seen = list(items), set(items)
        while todo:
            r, dot, la = todo.pop()
            rhs = plain[r][1]
            if dot < len(rhs) and rhs[dot] in nonterminals:
                for b in first_of(rhs[dot + 1:], la):
                    for r2, (lhs, _) in enumerate(plain):
                        if lhs == rhs[dot] and (r2, 0, b) not in seen:
                            seen.add((r2, 0, b))
                            todo.append((r2, 0, b))
        return frozenset(seen)

    start = closure(frozenset({(0, 0, "$END")}))
    states, todo = {start}, [start]
    merged: dict[frozenset[Item], dict[str, set]] = {}
    while todo:
        state = todo.pop()
        core = frozenset((*plain[r], dot) for r, dot, _ in state if dot or r == 0)
        row = merged.setdefault(core, {})
        for r, dot, la in state:
            if dot == len(plain[r][1]) and r:  # the root's reduction is acceptance (`end_state`)
                row.setdefault(la, set()).add(plain[r])
        for sym in {plain[r][1][dot] for r, dot, _ in state if dot < len(plain[r][1])}:
            target = closure(frozenset((r, dot + 1, la) for r, dot, la in state
                                       if dot < len(plain[r][1]) and plain[r][1][dot] == sym))
            if target not in states:
                states.add(target)
                todo.append(target)
    return merged


def _exact_lalr(rules: list[Rule]) -> None:
    ours = _our_view(rules)
    canonical = _canonical_lalr(rules)
    assert ours.keys() == canonical.keys()
    for kernel, reduces in canonical.items():
        assert ours[kernel][1] == reduces, sorted(kernel)


def _rules(spec: dict[str, list[str]]) -> list[Rule]:
    """Rules from {lhs: ["A b C", ""]}: upper-case names are terminals."""
    def symbol(name: str):
        return Terminal(name) if name.isupper() else NonTerminal(name)
    return [Rule(NonTerminal(lhs), [symbol(s) for s in body.split()]) for lhs, bodies in spec.items() for body in bodies]


HAND_WRITTEN = {
    "nullable chain (reads)": {"start": ["a b c D"], "a": ["A", ""], "b": ["B", ""], "c": ["C", ""]},
    "nullable suffix (includes)": {"start": ["x E"], "x": ["A y z"], "y": ["B", ""], "z": ["C", "", "y"]},
    "left recursion": {"start": ["start PLUS t", "t"], "t": ["t STAR f", "f"], "f": ["LP start RP", "N"]},
    "right recursion": {"start": ["A start", "A"]},
    "empty start": {"start": ["", "A start B"]},
    "reduce/reduce": {"start": ["a X", "b X"], "a": ["A"], "b": ["A"]},
    "shift/reduce (dangling else)": {"start": ["IF start", "IF start ELSE start", "S"]},
    "not LALR: LR(1) split": {"start": ["A e C", "A f D", "B e D", "B f C"], "e": ["E"], "f": ["E"]},
    "optional chain": {"start": ["LB m0 RB"], "m0": ["K0 m1", "m1"], "m1": ["K1 m2", "m2"], "m2": ["K2", ""]},
}


@pytest.mark.parametrize("spec", HAND_WRITTEN.values(), ids=HAND_WRITTEN.keys())
def test_hand_written_grammars_match_lark_and_lalr(spec):
    _same_as_lark(_rules(spec))
    _exact_lalr(_rules(spec))


def _random_rules(rng: random.Random) -> list[Rule]:
    names = ["start"] + [f"n{k}" for k in range(rng.randint(1, 5))]
    terminals = [f"T{k}" for k in range(rng.randint(1, 4))]
    spec: dict[str, list[str]] = {}
    for name in names:
        bodies = {" ".join(rng.choice(names + terminals * 2) for _ in range(rng.randint(0, 4)))
                  for _ in range(rng.randint(1, 3))}
        spec[name] = sorted(bodies)
    productive: set[str] = set()  # canonical LR(1) drops what an unproductive symbol predicts; LR(0) keeps it
    while True:
        more = {name for name, bodies in spec.items() if any(
            all(s.isupper() or s in productive for s in body.split()) for body in bodies)}
        if more == productive:
            break
        productive = more
    for name in set(spec) - productive:
        spec[name].append(rng.choice(terminals))
    return _rules(spec)


@pytest.mark.parametrize("seed", range(300))
def test_random_grammars_match_lark_and_lalr(seed):
    rules = _random_rules(random.Random(seed))
    _same_as_lark(rules)
    _exact_lalr(rules)


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "integer"}}},
     "required": ["b"]},
    {"anyOf": [{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
               {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "null"}}}]},
    {"type": "array", "prefixItems": [{"type": "boolean"}, {"type": "number"}], "minItems": 1, "maxItems": 4},
    {"type": "object", "properties": {f"k{i}": {"type": "string"} for i in range(12)}, "minProperties": 2},
], ids=["object", "anyOf-objects", "prefixItems", "optional-keys"])
def test_schema_grammars_match_lark(schema):
    _same_as_lark(load_rules(schema_source(schema).text)[1])


@pytest.mark.parametrize("dialect", ["hermes-json", "qwen3-xml"])
def test_turn_grammars_match_lark(dialect):
    from a3agent.grammars.dialects.turn import TurnOptions, turn_source

    weather = {"name": "get_weather", "description": "Current weather.", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
        "required": ["city"]}}
    _same_as_lark(load_rules(turn_source([weather], TurnOptions(dialect=dialect)).text)[1])


def test_an_undefined_nonterminal_is_a_malformed_grammar():
    with pytest.raises(MalformedGrammar, match="missing"):
        analyse([("start", ("missing", "A"))], {"A"})


def test_the_analysis_is_charged_to_the_compile_budget():
    """An optional-key chain has quadratically many items; a small work limit stops it, typed."""
    chain = {"start": ["LB m0 RB"]} | {f"m{i}": [f"K{i} m{i + 1}", f"m{i + 1}"] for i in range(300)} | {"m300": [""]}
    rules = _rules(chain)
    before = limits()
    try:
        set_limits(compile_work=50_000)
        with pytest.raises(GrammarTooComplex) as raised, compile_budget():
            analyse([(str(r.origin.name), tuple(str(s.name) for s in r.expansion)) for r in rules],
                    {f"K{i}" for i in range(300)} | {"LB", "RB"})
        assert raised.value.limit == "compile_work"
    finally:
        set_limits(**{f: getattr(before, f) for f in ("compile_work",)})


_NESTED = 'start: LPAR start RPAR | X\nLPAR: "("\nRPAR: ")"\nX: "x"\n'


def _fed(table: LRTable, terminals: list[str]) -> Stack:
    stack = table.initial
    for terminal in terminals:
        (stack,) = table.feed(stack, terminal)
    return stack


def test_a_push_shares_the_stack_below_at_any_depth():
    """A stack is its top state on the stack below it, never a copy: memory grows with depth, not its square."""
    table = LRTable.from_lark(_NESTED)
    path = [table.initial]
    for _ in range(2000):
        (above,) = table.feed(path[-1], "LPAR")
        path.append(above)
    assert all(above[2] is below for below, above in zip(path, path[1:]))
    assert len(stack_states(path[-1])) == 2001


def test_stacks_reached_by_different_input_are_one_object():
    """Interned: a stack equal to one built before is that stack, so memos keyed by it are found."""
    table = LRTable.from_lark(_NESTED)
    deep = _fed(table, ["LPAR", "LPAR", "X", "RPAR", "RPAR"])
    shallow = _fed(table, ["LPAR", "X", "RPAR"])
    assert stack_states(deep) == stack_states(shallow) and len(stack_states(deep)) == 4  # 0 ( start )
    assert deep is shallow
