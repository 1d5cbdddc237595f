"""Random values in random keywords of MaskBench schemas: every compile must end typed, and in time.

    python benchmarks/malformed_schemas.py --minutes 3 [--every 3] [--seed 4]

Each schema is a shared one with one to three keywords of its subschemas set to a value from a
fixed list of misfits (wrong types, huge numbers, dangling, anchor and remote `$ref`s, backtracking
patterns, lone surrogates...). Compiling it, then one mask, completion and forced text, must
succeed or raise an `A3AgentError`; prints each other exception once (with a schema that raised
it) and each compile past 3 s, under a 10 s guard. Exit status 1 if any.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maskbench  # noqa: E402

MISFITS = [None, True, False, 0, -1, 1.5, 10**30, -(10**30), 1e308, 2**63, "", "x", "^(a+)+$", "^(\\w+\\s?)*$", "[",
           "\\p{L}", [], [1], ["a", "a"], {}, {"a": 1}, {"type": 5}, [{}], [[]], {"": {}}, "#", "#/nope", "#anchor",
           "http://127.0.0.1:9/schema.json", "\ud800", {"$ref": "#"}, {"not": {"$ref": "#"}}]
KEYWORDS = ["type", "properties", "required", "items", "prefixItems", "enum", "const", "pattern", "patternProperties",
            "additionalProperties", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "multipleOf",
            "minItems", "maxItems", "minProperties", "maxProperties", "allOf", "anyOf", "oneOf", "not", "if", "then",
            "else", "$ref", "$defs", "definitions", "format", "propertyNames", "dependentRequired", "dependentSchemas",
            "dependencies", "contains", "uniqueItems", "additionalItems", "$id", "$schema", "default", "title"]
SLOW_S = 3.0
GUARD_S = 10


def subschemas(value: Any, out: list[dict]) -> list[dict]:
    if isinstance(value, dict):
        out.append(value)
        for child in value.values():
            subschemas(child, out)
    elif isinstance(value, list):
        for child in value:
            subschemas(child, out)
    return out


def misfit(rng: random.Random, schema: Any) -> Any:
    schema = copy.deepcopy(schema)
    for _ in range(rng.randint(1, 3)):
        nodes = subschemas(schema, [])
        if nodes:
            rng.choice(nodes)[rng.choice(KEYWORDS)] = copy.deepcopy(rng.choice(MISFITS))
    return schema


def _guard(*_: object) -> None:
    raise TimeoutError(f"past the {GUARD_S} s guard")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--every", type=int, default=3, help="take every n-th shared file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from a3agent.errors import A3AgentError
    from a3agent.grammars import compile_json_schema

    tokenizer = maskbench.tekken_tokenizer()
    cases = maskbench.load_cases(every=args.every)
    rng = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _guard)
    findings: dict[str, str] = {}
    tried, end = 0, time.monotonic() + args.minutes * 60
    while time.monotonic() < end:
        schema = misfit(rng, rng.choice(cases).schema)
        tried += 1
        start = time.monotonic()
        signal.alarm(GUARD_S)
        try:
            matcher = compile_json_schema(schema, tokenizer).matcher()
            matcher.mask(), matcher.completion(), matcher.forced()
        except A3AgentError:
            pass
        except Exception as e:  # noqa: BLE001 - what this script looks for
            findings.setdefault(f"{type(e).__name__}: {str(e)[:120]}", json.dumps(schema, default=str)[:2000])
        finally:
            signal.alarm(0)
        if time.monotonic() - start > SLOW_S:
            findings.setdefault(f"slow: {time.monotonic() - start:.1f} s", json.dumps(schema, default=str)[:2000])
    print(f"{tried} schemas, {len(findings)} findings")
    for finding, schema in findings.items():
        print(f"\n{finding}\n  {schema}")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
