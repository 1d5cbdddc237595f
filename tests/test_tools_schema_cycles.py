"""A tool whose parameters schema loops through `$ref` on one value (no validator can finish it) is
refused when the tool is defined, with the JSON pointers of the loop; recursion that descends into a
property or an item is a fine schema and is kept."""

import pytest

from a3agent.errors import ToolDefinitionError
from a3agent.tools import Tool, Toolbox, ToolCall
from a3agent.tools.schema_cycles import find_ref_cycle


def parameters(x, defs):
    return {"type": "object", "properties": {"x": x}, "$defs": defs}


@pytest.mark.parametrize(("schema", "cycle"), [
    (parameters({"$ref": "#/$defs/A"}, {"A": {"$ref": "#/$defs/A"}}), ["#/$defs/A", "#/$defs/A"]),
    (parameters({"$ref": "#/$defs/A"}, {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}}),
     ["#/$defs/A", "#/$defs/A/anyOf/0", "#/$defs/A"]),
    (parameters({"$ref": "#/$defs/A"}, {"A": {"allOf": [{"$ref": "#/$defs/B"}]}, "B": {"not": {"$ref": "#/$defs/A"}}}),
     ["#/$defs/A", "#/$defs/A/allOf/0", "#/$defs/B", "#/$defs/B/not", "#/$defs/A"]),
    ({"type": "object", "properties": {}, "oneOf": [{"$ref": "#"}]}, ["#", "#/oneOf/0", "#"]),
    (parameters({"$ref": "#/$defs/a~1b"}, {"a/b": {"if": {"$ref": "#/$defs/a~1b"}}}),
     ["#/$defs/a~1b", "#/$defs/a~1b/if", "#/$defs/a~1b"]),
    ({"type": "object", "$ref": ""}, ["#", "#"]),  # the empty reference is the document itself
])
def test_a_ref_loop_on_one_value_is_found_with_its_pointers(schema, cycle):
    assert find_ref_cycle(schema) == cycle


def test_a_ref_loop_is_refused_when_the_tool_is_defined_naming_the_loop():
    spec = {"name": "f", "parameters": parameters(
        {"$ref": "#/$defs/A"}, {"A": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}})}
    with pytest.raises(ToolDefinitionError, match=r"tool 'f'.*#/\$defs/A -> #/\$defs/A/anyOf/0 -> #/\$defs/A"):
        Tool.from_schema(spec, lambda x: "ran")


TREE = parameters({"$ref": "#/$defs/Node"}, {"Node": {"type": "object", "properties": {
    "label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
    "anyOf": [{"required": ["label"]}, {"required": ["children"]}]}})


def test_recursion_through_properties_and_items_is_kept_and_validates():
    assert find_ref_cycle(TREE) is None
    assert find_ref_cycle({"type": "object", "properties": {"next": {"$ref": "#"}}}) is None
    box = Toolbox([Tool.from_schema({"name": "tree", "parameters": TREE}, lambda x: "ok")])
    assert box.validate(ToolCall("tree", {"x": {"label": "root", "children": [{"label": "leaf"}]}}))


def test_unused_and_non_local_refs_are_not_followed():
    unused = parameters({"type": "integer"}, {"A": {"$ref": "#/$defs/A"}})
    assert find_ref_cycle(unused) is None
    assert find_ref_cycle(parameters({"$ref": "https://example.com/s.json"}, {})) is None
