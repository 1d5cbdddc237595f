"""Checking one call's arguments is bounded as a whole: all its pattern matches share one time budget
(`PATTERN_CALL_SECONDS`, past which the call is refused), and `uniqueItems` takes one pass over the
items, with JSON Schema's equality (1 and 1.0 equal, True and 1 not), not a comparison of each pair."""

import asyncio

import jsonschema._utils
import pytest

from a3agent.errors import ToolArgumentsError
from a3agent.tools import Tool, Toolbox, ToolCall
from a3agent.tools import argument_validator


def run(box: Toolbox, name: str, **arguments):
    return asyncio.run(asyncio.wait_for(box.invoke(ToolCall(name, arguments)), 120))  # hang guard


def test_all_pattern_matches_of_a_call_share_one_budget(monkeypatch):
    # 20 strings that each take the regex its whole per-string limit took 20 s
    monkeypatch.setattr(argument_validator, "PATTERN_CALL_SECONDS", 0.5)
    searched: list[str] = []
    search = argument_validator.regex.search

    def counted(pattern, text, **kwargs):
        searched.append(text)
        return search(pattern, text, **kwargs)

    monkeypatch.setattr(argument_validator.regex, "search", counted)
    spec = {"name": "tag", "parameters": {"type": "object", "properties": {
        "tags": {"type": "array", "items": {"type": "string", "pattern": "(a|aa)+c"}}}}}
    box = Toolbox([Tool.from_schema(spec, lambda tags: "ran")])
    result = run(box, "tag", tags=["a" * 40 + "bac"] * 20)
    assert result.is_error and "took more than PATTERN_CALL_SECONDS=0.5 s in all" in result.text
    assert len(searched) < 20
    assert run(box, "tag", tags=["aac", "ac"]).text == "ran"  # the next call has a budget of its own


UNIQUE = {"name": "u", "parameters": {"type": "object", "properties": {"xs": {"type": "array", "uniqueItems": True}}}}


@pytest.mark.parametrize(("xs", "unique"), [
    ([{"a": i} for i in range(4000)], True),
    ([{"a": i} for i in range(4000)] + [{"a": 3999.0}], False),
    ([1, 1.0], False), ([1, True], True), ([0, False], True), ([[1], [True]], True), ([None, "null"], True),
    ([{"a": [1, {"b": 2}]}, {"a": [1.0, {"b": 2}]}], False), ([{"a": 1}, {"b": 1}], True), ([[], {}], True),
    ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], False), (["1", 1], True),
])
def test_unique_items_are_found_in_one_pass_with_json_schemas_equality(monkeypatch, xs, unique):
    def pairwise(one, two):
        raise AssertionError("items compared pairwise: quadratic in their number (4000 objects took 26 s)")

    monkeypatch.setattr(jsonschema._utils, "equal", pairwise)
    tool = Tool.from_schema(UNIQUE, lambda xs: "ran")
    if unique:
        assert tool.to_kwargs({"xs": xs}) == {"xs": xs}
    else:
        with pytest.raises(ToolArgumentsError, match="has non-unique elements"):
            tool.to_kwargs({"xs": xs})


def test_multiple_of_a_decimal_step_is_exact_decimal_arithmetic():
    # jsonschema divides binary floats: 19.99 / 0.01 = 1998.9999999999998, so a price the grammar
    # lets through was refused as no multiple of 0.01
    spec = {"name": "pay", "parameters": {"type": "object", "properties": {
        "price": {"type": "number", "multipleOf": 0.01}}, "required": ["price"]}}
    box = Toolbox([Tool.from_schema(spec, lambda price: f"paid {price}")])
    for price in (19.99, 4.35, 0.07, 7):
        assert run(box, "pay", price=price).text == f"paid {price}"
    for price in (19.995, 0.001, float("inf")):
        result = run(box, "pay", price=price)
        assert result.is_error and "is not a multiple of 0.01" in result.text
