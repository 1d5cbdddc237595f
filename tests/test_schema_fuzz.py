"""Differential fuzz test: the engine agrees with jsonschema on mutated MaskBench schemas and instances.

A bounded, derandomised sample (see schema_fuzz.py); `python benchmarks/schema_fuzz.py --minutes N`
runs the same check for longer with fresh seeds.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import schema_fuzz
from schema_oracle import MASKBENCH

pytestmark = pytest.mark.skipif(not MASKBENCH.is_dir(), reason=f"no MaskBench data at {MASKBENCH}")

CASES = schema_fuzz.load_cases(every=23) if MASKBENCH.is_dir() else []


@cache
def engine() -> schema_fuzz.Engine:
    return schema_fuzz.Engine()


@settings(max_examples=150, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(schema_fuzz.examples(CASES))
def test_engine_agrees_with_jsonschema_on_mutated_schemas_and_instances(example):
    _, schema, data = example
    engine().check(schema, data)
