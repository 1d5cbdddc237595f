"""Differential fuzz test on synthesized schemas: the engine agrees with jsonschema on schemas it has
never seen (see random_schemas.py).

A bounded, derandomised sample: each example is one random draft 2020-12 schema and a few
instances aimed at it. The schema must compile or be refused with a `GrammarError` (within
`random_schemas.SLOW_COMPILE_SECONDS`), and every instance must get jsonschema's verdict, but for
the excuses the contract allows (`schema_fuzz.Engine.check`). `python
benchmarks/random_schema_fuzz.py --minutes N` runs the same check for longer with fresh seeds
and shrinks what it finds.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import random_schemas
import schema_fuzz


@cache
def engine() -> schema_fuzz.Engine:
    return schema_fuzz.Engine()


@settings(max_examples=60, deadline=None, database=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(random_schemas.cases())
def test_engine_agrees_with_jsonschema_on_random_schemas(case):
    schema, instances = case
    findings = random_schemas.run_case(engine(), schema, instances)
    assert not findings, "\n\n".join(str(f) for f in findings)


REPROS = [
    # an inclusive bound with a fractional part takes any digits after its own: 1.51 <= 1.5
    ({"maximum": 1.5}, 1.51),
    ({"type": "object", "properties": {"price": {"type": "number", "maximum": 99.9}}, "required": ["price"]},
     {"price": 99.99}),
    ({"minimum": -0.5}, -0.500000001),
    ({"maximum": 0.0001}, 0.00011),
    # a bound below 1e-4 leaves out the exponent spellings json.dumps writes there
    ({"minimum": 1e-05}, 1e-05),
    ({"exclusiveMinimum": 1e-05}, 2e-05),
    ({"maximum": 1e-05}, 1e-06),
    # `multipleOf` of a decimal: the grammar takes 0.07 as a multiple of 0.01 ({"multipleOf": 0.01}
    # accepts "0.07"), the enum/const filter (jsonschema, binary floats) does not: refused as unsatisfiable
    ({"const": 0.07, "multipleOf": 0.01}, 0.07),
    # a key spelling a special token is text: the harness encoded it as the special token itself
    ({}, {"</s>": None}),
    # a number that is a multiple of none of some steps (here: no integer) was written plain only,
    # so json.dumps' tiny exponent forms were refused
    ({"if": {"type": "integer"}}, 1e-07),
    ({"patternProperties": {"_id$": {"not": {"type": "integer"}}}}, {"_id": -1e-09}),
    # the key-order oracle did not percent-decode a `$ref` pointer, as the engine does (9389e05)
    ({"$ref": "#/$defs/%C3%BC", "$defs": {"ü": {"properties": {"head": {"type": ["integer"]},
                                                            "tail": {"$ref": "#/$defs/%C3%BC"}}}}},
     {"tail": {"head": 3.0}}),
]
"""Small repros the long run (`benchmarks/random_schema_fuzz.py`) found and shrank."""


@pytest.mark.parametrize(("schema", "data"), REPROS, ids=[str(i) for i in range(len(REPROS))])
def test_engine_agrees_with_jsonschema_on_the_repros_the_fuzzing_found(schema, data):
    findings = random_schemas.run_case(engine(), schema, [data])
    assert not findings, "\n\n".join(str(f) for f in findings)
