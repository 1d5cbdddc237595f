"""The official JSON-Schema-Test-Suite (draft 2020-12, optional formats included) against a baseline.

No invalid instance may ever be accepted. A valid instance may be rejected only if the checked-in
baseline lists it with a reason whose claim holds (keys out of schema order, an integer written as
a float, `format` asserted, ...). Refused schemas are counted apart (see json_schema_suite.py).
"""

from __future__ import annotations

import json

import pytest

import json_schema_suite as suite
from schema_oracle import in_schema_order

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not suite.SUITE.is_dir(), reason=f"no JSON-Schema-Test-Suite at {suite.SUITE}"),
]


@pytest.fixture(scope="module")
def run() -> tuple[list[suite.Group], list[suite.Outcome]]:
    groups = suite.load_groups()
    return groups, suite.run_suite(groups)


@pytest.fixture(scope="module")
def baseline() -> dict[str, dict]:
    return json.loads(suite.BASELINE.read_text(encoding="utf-8"))


def test_no_invalid_instance_is_accepted(run):
    groups, outcomes = run
    accepted = [f"{o.key}/{i}: {json.dumps(g.tests[i]['data'])[:80]}"
                for g, o in zip(groups, outcomes) for i in o.invalid_accepted]
    assert accepted == []


def test_no_group_runs_into_the_hang_guard(run):
    _, outcomes = run
    assert [o.key for o in outcomes if o.status == "too slow"] == []


def test_every_valid_rejection_is_in_the_baseline(run, baseline):
    groups, outcomes = run
    new = {k: e for k, e in suite.baseline_entries(groups, outcomes).items() if k not in baseline}
    assert new == {}, "new valid rejections (fix them, or rerun `python tests/json_schema_suite.py --write`)"


def test_the_baseline_lists_only_what_is_still_rejected(run, baseline):
    groups, outcomes = run
    assert sorted(baseline.keys() - suite.baseline_entries(groups, outcomes).keys()) == []


def test_each_baseline_reason_holds_for_its_instance(baseline):
    groups = {g.key: g for g in suite.load_groups()}
    for key, entry in baseline.items():
        group_key, index = key.rsplit("/", 1)
        group = groups[group_key]
        assert suite.REASONS[entry["reason"]](group.schema, group.tests[int(index)]["data"]), key


def test_key_order_rejections_are_accepted_in_schema_order(baseline):
    """A rejection blamed on key order must go away once the keys are put in schema order."""
    groups = {g.key: g for g in suite.load_groups()}
    keys = [k for k, e in baseline.items() if e["reason"] == "key order"]
    for key in keys:
        group_key, index = key.rsplit("/", 1)
        group = groups[group_key]
        reordered = in_schema_order(group.tests[int(index)]["data"], group.schema, group.schema)
        outcome = suite.run_group(suite.Group(group_key, group.description, group.schema,
                                              [{"description": "", "data": reordered, "valid": True}]),
                                  *suite.tekken_engine())
        assert outcome.status == "compiled" and outcome.valid_rejected == [], key
