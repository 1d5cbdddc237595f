"""The official JSON-Schema-Test-Suite (draft 2020-12) through the token-mask engine.

Each group's schema is compiled with `compile_json_schema`; each instance, written as
`json.dumps(data, ensure_ascii=False)`, is fed token by token (mask, then advance) and must end
accepting exactly when the suite says it is valid. Refusals (any `GrammarError`) are counted
apart. A group that runs past `GROUP_SECONDS` is recorded as too slow rather than blocking the run.

Valid instances the engine rejects are kept in `data/json_schema_suite_baseline.json`, each
with a reason category whose claim `REASONS` checks against the instance itself.

    python tests/json_schema_suite.py            # print the figures
    python tests/json_schema_suite.py --write    # rewrite the baseline from this run

Not handled here: the pass/fail policy (`test_json_schema_suite.py`).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema_oracle import in_schema_order  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT.parent / "shared" / "data" / "json-schema-test-suite" / "draft2020-12"
BASELINE = Path(__file__).resolve().parent / "data" / "json_schema_suite_baseline.json"
GROUP_SECONDS = 30


@dataclass
class Group:
    """One schema of the suite with its instances."""

    key: str
    """`file#index`, e.g. `optional/format/date.json#0`."""
    description: str
    schema: Any
    tests: list[dict]


@dataclass
class Outcome:
    """What the engine did with one group."""

    key: str
    status: str = "compiled"
    """compiled, refused, or too slow."""
    detail: str = ""
    valid_rejected: list[int] = field(default_factory=list)
    invalid_accepted: list[int] = field(default_factory=list)


class TooSlow(Exception):
    """A group ran past GROUP_SECONDS (an engine hang guard, not a performance claim)."""


def load_groups() -> list[Group]:
    """Every group of every file under the suite folder, in file order."""
    groups = []
    for path in sorted(SUITE.rglob("*.json")):
        name = path.relative_to(SUITE).as_posix()
        for i, group in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            groups.append(Group(f"{name}#{i}", group["description"], group["schema"], group["tests"]))
    return groups


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise TooSlow in the main thread after `seconds` (SIGALRM)."""
    def expire(*_: object) -> None:
        raise TooSlow(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def accepts(matcher: Any, ids: list[int]) -> bool:
    """Mask, then advance, token by token; True if every token is legal and the end accepts."""
    for tid in ids:
        legal = bool(matcher.mask()[tid])
        if matcher.advance(tid) != legal:
            raise AssertionError(f"token {tid}: mask says {legal}, advance disagrees")
        if not legal:
            return False
    return matcher.accepting()


def run_group(group: Group, compile_schema: Callable[[Any], Any], encode: Callable[[str], list[int]]) -> Outcome:
    """Compile the group's schema and check each instance, under one time limit."""
    from a3agent.errors import GrammarError

    outcome = Outcome(group.key)
    try:
        with time_limit(GROUP_SECONDS):
            try:
                grammar = compile_schema(group.schema)
            except GrammarError as e:
                outcome.status, outcome.detail = "refused", f"{type(e).__name__}: {e}"
                return outcome
            for i, test in enumerate(group.tests):
                ok = accepts(grammar.matcher(), encode(json.dumps(test["data"], ensure_ascii=False)))
                if test["valid"] and not ok:
                    outcome.valid_rejected.append(i)
                if ok and not test["valid"]:
                    outcome.invalid_accepted.append(i)
    except TooSlow as e:
        outcome.status, outcome.detail = "too slow", str(e)
    return outcome


# -- reasons a valid instance may be rejected: each a checkable claim about the instance ----------


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v)
    elif isinstance(data, dict):
        for v in data.values():
            yield from _strings(v)


def subschemas(schema: Any) -> Iterator[dict]:
    """Every object-form schema inside `schema` (itself included), depth first."""
    if isinstance(schema, dict):
        yield schema
        for v in schema.values():
            yield from subschemas(v)
    elif isinstance(schema, list):
        for v in schema:
            yield from subschemas(v)


_LEAP_SECOND_AT_OFFSET = re.compile(r"\d\d:\d\d:60(\.\d+)?[+-](?!00:00)\d\d:\d\d")


def _leap_second_at_offset(schema: Any, data: Any) -> bool:
    """A string holds a leap second written at a non-zero UTC offset (`15:59:60-08:00`)."""
    return any(_LEAP_SECOND_AT_OFFSET.search(s) for s in _strings(data))


def _keys_out_of_order(schema: Any, data: Any) -> bool:
    """Some object lists declared properties in another order than the schema declares them."""
    return _key_sequence(in_schema_order(data, schema, schema)) != _key_sequence(data)


def _constant_reordered(schema: Any, data: Any) -> bool:
    """The instance equals an `enum`/`const` value but writes an object's keys in another order."""
    values = [v for sub in subschemas(schema) for v in ([sub["const"]] if "const" in sub else sub.get("enum", []))]
    return any(v == data and json.dumps(v) != json.dumps(data) for v in values)


def _integral_float(schema: Any, data: Any) -> bool:
    """Some number is a float with an integral value (`1.0`, `1e308`)."""
    if isinstance(data, float):
        return data == int(data)
    return any(_integral_float(schema, v) for v in (data if isinstance(data, list) else
                                                    data.values() if isinstance(data, dict) else ()))


def _format_asserted(schema: Any, data: Any) -> bool:
    """jsonschema rejects the instance once `format` is asserted (2020-12 makes it an annotation)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema).is_valid(data) and not cls(schema, format_checker=cls.FORMAT_CHECKER).is_valid(data)


def _custom_metaschema(schema: Any, data: Any) -> bool:
    """The schema names a metaschema of its own, whose vocabularies the engine does not read."""
    uri = schema.get("$schema", "") if isinstance(schema, dict) else ""
    return bool(uri) and not re.match(r"https?://json-schema\.org/", uri)


def _dependencies_enforced(schema: Any, data: Any) -> bool:
    """`dependencies` (a draft-7 keyword 2020-12 ignores) is enforced by the engine, and fails."""
    uses = any(isinstance(sub.get("dependencies"), dict) for sub in subschemas(schema))
    return uses and not jsonschema.Draft7Validator(schema).is_valid(data)


REASONS: dict[str, Callable[[Any, Any], bool]] = {
    "leap second at a non-zero offset": _leap_second_at_offset,
    "key order": _keys_out_of_order,
    "enum/const object key order": _constant_reordered,
    "integer written as float": _integral_float,
    "format asserted": _format_asserted,
    "custom metaschema vocabulary not read": _custom_metaschema,
    "dependencies enforced whatever the draft": _dependencies_enforced,
}
"""Reason category -> claim about (schema, instance) that must hold for a baseline entry."""


def reason_for(schema: Any, data: Any) -> str | None:
    """The first reason category whose claim holds, for writing a new baseline."""
    return next((name for name, holds in REASONS.items() if holds(schema, data)), None)


def _key_sequence(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [x for k, v in data.items() for x in (k, *_key_sequence(v))]
    return [x for v in data for x in _key_sequence(v)] if isinstance(data, list) else []


# -- running the whole suite ------------------------------------------------------------------


def tekken_engine() -> tuple[Callable[[Any], Any], Callable[[str], list[int]]]:
    """(compile a schema, encode a text) on the Tekken vocabulary, as the MaskBench tests use it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import maskbench

    from a3agent.grammars import compile_json_schema

    tokenizer = maskbench.tekken_tokenizer_cached()
    return (lambda schema: compile_json_schema(schema, tokenizer)), maskbench.hf_encoder(tokenizer)


def run_suite(groups: list[Group]) -> list[Outcome]:
    """Every group through the engine on the Tekken vocabulary."""
    engine = tekken_engine()
    return [run_group(g, *engine) for g in groups]


def baseline_entries(groups: list[Group], outcomes: list[Outcome]) -> dict[str, dict]:
    """`file#group/test` -> {reason, group, test} for each valid instance rejected."""
    entries = {}
    for group, outcome in zip(groups, outcomes):
        for i in outcome.valid_rejected:
            test = group.tests[i]
            entries[f"{group.key}/{i}"] = {
                "reason": reason_for(group.schema, test["data"]) or "unexplained",
                "group": group.description,
                "test": test["description"],
            }
    return entries


def summary(groups: list[Group], outcomes: list[Outcome]) -> str:
    """The figures of one run, as lines of text."""
    entries = baseline_entries(groups, outcomes)
    status = Counter(o.status for o in outcomes)
    lines = [
        f"groups: {len(groups)}  instances: {sum(len(g.tests) for g in groups)}  {dict(status)}",
        f"instances in compiled groups: {sum(len(g.tests) for g, o in zip(groups, outcomes) if o.status == 'compiled')}",
        f"invalid accepted: {sum(len(o.invalid_accepted) for o in outcomes)}",
        f"valid rejected: {len(entries)}  by reason: {dict(Counter(e['reason'] for e in entries.values()))}",
    ]
    lines += [f"INVALID ACCEPTED {o.key}/{i}" for o in outcomes for i in o.invalid_accepted]
    lines += [f"VALID REJECTED {k} ({e['reason']}): {e['test']}" for k, e in entries.items()]
    lines += [f"{o.status.upper()} {o.key}: {o.detail[:160]}" for o in outcomes if o.status != "compiled"]
    return "\n".join(lines)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--write", action="store_true", help="rewrite the baseline from this run")
    args.add_argument("--match", default="", help="only groups whose key contains this")
    opts = args.parse_args()
    groups = [g for g in load_groups() if opts.match in g.key]
    outcomes = run_suite(groups)
    print(summary(groups, outcomes))
    if opts.write:
        BASELINE.parent.mkdir(exist_ok=True)
        BASELINE.write_text(json.dumps(baseline_entries(groups, outcomes), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
