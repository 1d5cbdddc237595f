"""BFCL simple_python ground truth as whole assistant turns, for the tests and the benchmark.

Each case's first acceptable value per parameter (`""` first means "may be omitted", so it is,
unless the schema requires the parameter: then its first other value) is rendered as a full turn in a dialect: think text, `</think>`, then the call block.
Arguments are written in the schema's property order, as the grammar generates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from maskbench import BFCL


@dataclass
class BfclCase:
    id: str
    functions: list[dict]
    name: str
    arguments: dict[str, Any]


def load_cases() -> list[BfclCase]:
    questions = [json.loads(line) for line in (BFCL / "BFCL_v4_simple_python.jsonl").read_text().splitlines() if line]
    answers = {
        d["id"]: d["ground_truth"][0]
        for d in map(json.loads, (BFCL / "BFCL_v4_simple_python.answers.jsonl").read_text().splitlines())
    }
    cases = []
    for q in questions:
        (name, params), = answers[q["id"]].items()
        function = next(f for f in q["function"] if f["name"] == name)
        order = list(function["parameters"].get("properties", {}))
        required = set(function["parameters"].get("required", []))
        args = {k: _first(params[k]) for k in sorted(params, key=lambda k: order.index(k) if k in order else len(order))
                if params[k] and (params[k][0] != "" or k in required and any(v != "" for v in params[k]))}
        cases.append(BfclCase(q["id"], q["function"], name, args))
    return cases


def _first(acceptable: list) -> Any:
    """The first acceptable value that is not the "omit" marker; nested dicts (also inside
    lists) list acceptable values per key too, so take the first of each."""
    value = next(v for v in acceptable if v != "")
    return _resolve(value)


def _resolve(value: Any) -> Any:
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        return {k: _first(v) for k, v in value.items() if any(x != "" for x in v)}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def tool_dicts(case: BfclCase) -> list[dict]:
    return [{"name": f["name"], "description": f.get("description", ""), "parameters": f["parameters"]} for f in case.functions]


def render_call(name: str, arguments: dict[str, Any], dialect: str) -> str:
    """The `<tool_call>` block of one call, as the model should write it."""
    if dialect == "hermes-json":
        body = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
        return f"<tool_call>\n{body}\n</tool_call>"
    params = "".join(
        f"<parameter={k}>\n{v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}\n</parameter>\n"
        for k, v in arguments.items()
    )
    return f"<tool_call>\n<function={name}>\n{params}</function>\n</tool_call>"


def render_turn(name: str, arguments: dict[str, Any], dialect: str) -> str:
    """A whole thinking-on assistant turn after the prompt's `<think>\\n`."""
    return f"The user wants {name}; I will call it with the given values.\n</think>\n\n" + render_call(name, arguments, dialect)


def ground_truth_turns(tokenizer: Any, dialect: str) -> Iterator[tuple[Any, str]]:
    """(turn grammar, ground-truth turn text) for every BFCL simple case."""
    from a3agent.grammars import TurnOptions, compile_turn

    for case in load_cases():
        grammar = compile_turn(tool_dicts(case), tokenizer, TurnOptions(dialect=dialect))
        yield grammar, render_turn(case.name, case.arguments, dialect)
