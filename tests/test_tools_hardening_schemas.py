"""Checking a tool's schema costs time linear in its size and a bounded stack: each subschema that
`$ref`s point at is meta-checked once, and not again where the schema's own check already looks; a
schema nested or sized past the bounds is a `ToolDefinitionError`, never a RecursionError or minutes
of work. An MCP server with one such tool still offers its others."""

import jsonschema
import mcp_types
import pytest

from a3agent.errors import ToolDefinitionError
from a3agent.tools import ToolDefinition
from a3agent.tools.mcp import MCPServer
from a3agent.tools.meta_check import MAX_CHECKED_NODES, MAX_SCHEMA_DEPTH


@pytest.fixture
def meta_checks(monkeypatch):
    """The subschemas handed to the 2020-12 meta-schema check, in order."""
    handed: list = []
    check = jsonschema.Draft202012Validator.check_schema

    def counted(schema, *args, **kwargs):
        handed.append(schema)
        return check(schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", counted)
    return handed


def many_refs(n: int, defs_key: str = "$defs") -> dict:
    return {"type": "object",
            defs_key: {"b": {"type": "object", "properties": {f"q{i}": {"type": "string"} for i in range(n)}}},
            "properties": {f"p{i}": {"$ref": f"#/{defs_key}/b"} for i in range(n)}}


def test_a_subschema_that_many_refs_point_at_is_checked_once(meta_checks):
    # was one meta-check of the 250-property target per $ref: 31 s
    ToolDefinition("f", "", many_refs(250, defs_key="defs"))
    assert len(meta_checks) == 2  # the document, and the target the meta-schema cannot see under "defs"


def test_ref_targets_the_documents_own_check_reaches_are_not_checked_again(meta_checks):
    ToolDefinition("f", "", many_refs(250))
    nested = {"type": "object", "properties": {"a": {"$ref": "#/$defs/n/properties/x"}, "b": {"$ref": "#/$defs/n"}},
              "$defs": {"n": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
    ToolDefinition("g", "", nested)
    assert len(meta_checks) == 2  # each document once: "$defs" and "properties" are keywords 2020-12 looks in
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"a": {"$ref": "#/$defs/p"}}, "$defs": {"p": {"minLength": -1}}}
    with pytest.raises(ToolDefinitionError, match=r"at #/\$defs/p: -1 is less than the minimum of 0"):
        ToolDefinition("h", "", draft7)  # draft 7 knows no "$defs": the target is checked apart


def test_a_target_inside_another_unseen_target_is_checked_with_it(meta_checks):
    parameters = {"type": "object", "properties": {"a": {"$ref": "#/defs/n/properties/x"}, "b": {"$ref": "#/defs/n"}},
                  "defs": {"n": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
    ToolDefinition("f", "", parameters)
    assert meta_checks == [parameters, parameters["defs"]["n"]]


def test_a_schema_whose_checks_would_pass_the_node_bound_is_refused():
    big = {f"q{i}": {"type": "string"} for i in range(MAX_CHECKED_NODES * 2 // 3)}
    parameters = {"type": "object", "properties": {"a": {"$ref": "#/defs/b"}},
                  "defs": {"b": {"type": "object", "properties": big}}}
    with pytest.raises(ToolDefinitionError, match=f"past MAX_CHECKED_NODES={MAX_CHECKED_NODES}"):
        ToolDefinition("f", "", parameters)
    with pytest.raises(ToolDefinitionError, match=f"more than MAX_CHECKED_NODES={MAX_CHECKED_NODES} objects"):
        ToolDefinition("f", "", {"type": "object", "anyOf": [{} for _ in range(MAX_CHECKED_NODES)]})


def any_of_nest(depth: int, leaf: dict | None = None) -> dict:
    schema: dict = leaf or {"type": "string"}
    for _ in range(depth):
        schema = {"anyOf": [schema, {"type": "null"}]}
    return {"type": "object", "properties": {"a": schema}}


@pytest.mark.parametrize("depth", [95, 5000])
def test_a_schema_nested_past_the_depth_bound_is_a_definition_error_not_a_recursion_error(depth):
    with pytest.raises(ToolDefinitionError, match=f"more than MAX_SCHEMA_DEPTH={MAX_SCHEMA_DEPTH} deep"):
        ToolDefinition("f", "", any_of_nest(depth))
    ToolDefinition("f", "", any_of_nest(MAX_SCHEMA_DEPTH // 2 - 2))  # within the bound: checked all the way down
    with pytest.raises(ToolDefinitionError, match="invalid parameters schema: -1 is less than the minimum of 0"):
        ToolDefinition("f", "", any_of_nest(MAX_SCHEMA_DEPTH // 2 - 2, leaf={"minLength": -1}))


def test_parameters_that_are_no_object_are_a_definition_error():
    with pytest.raises(ToolDefinitionError, match='must have "type": "object"'):
        ToolDefinition("f", "", [])  # type: ignore[arg-type]


def test_an_mcp_server_refuses_only_its_too_deep_tool_and_offers_the_others():
    server = MCPServer("s", transport=lambda: None)
    good = mcp_types.Tool(name="good", input_schema={"type": "object"})
    bad = mcp_types.Tool(name="bad", input_schema=any_of_nest(95))
    assert [tool.name for tool in server._offered([good, bad])] == ["good"]
    (refused,) = server.refused
    assert refused.name == "bad" and f"MAX_SCHEMA_DEPTH={MAX_SCHEMA_DEPTH}" in refused.reason
