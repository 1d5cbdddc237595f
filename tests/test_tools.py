"""The tool registry: schemas from signatures and specs, registration checks, invocation, results."""

import ast
import asyncio
import enum
import io
import json
import re
import threading
from pathlib import Path
from typing import Annotated, Literal, Optional

import pytest
from PIL import Image
from pydantic import BaseModel, Field

from a3agent.errors import (
    ToolArgumentsError,
    ToolDefinitionError,
    ToolFailed,
    UnknownTool,
    UnsatisfiableSchema,
    UnsupportedSchema,
)
from a3agent.tools import (
    ImagePart,
    TextPart,
    Tool,
    Toolbox,
    ToolCall,
    ToolContext,
    ToolDefinition,
    ToolResult,
    to_tool_result,
    tool,
)

BFCL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bfcl" / "BFCL_v4_simple_python.jsonl"


def invoke(box: Toolbox, name: str, ctx: ToolContext | None = None, approve=None, **arguments) -> ToolResult:
    return asyncio.run(box.invoke(ToolCall(name, arguments), ctx, approve=approve))


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: float
    y: float = 0.0


class Node(BaseModel):
    value: int
    children: list["Node"] = []


# -- schema from the signature ----------------------------------------------------------------


def test_signature_types_map_to_json_schema():
    @tool
    def f(
        s: str,
        i: int,
        x: float,
        b: bool,
        mode: Literal["fast", "slow"],
        color: Color,
        maybe: Optional[int],
        tags: list[str],
        counts: dict[str, int],
        point: Point,
        limit: int = 10,
    ) -> str:
        return ""

    props = f.definition.parameters["properties"]
    assert props["s"] == {"type": "string"}
    assert props["i"] == {"type": "integer"}
    assert props["x"] == {"type": "number"}
    assert props["b"] == {"type": "boolean"}
    assert props["mode"] == {"enum": ["fast", "slow"], "type": "string"}
    assert props["color"] == {"enum": ["red", "blue"], "type": "string"}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["counts"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["point"] == {
        "type": "object",
        "properties": {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}},
        "required": ["x"],
    }
    assert props["limit"] == {"type": "integer", "default": 10}
    assert set(f.definition.parameters["required"]) == set(props) - {"limit"}


def test_schema_is_closed_and_has_no_titles_or_refs():
    @tool
    def f(point: Point, color: Color = Color.RED) -> str:
        return ""

    schema = f.definition.parameters
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    text = json.dumps(schema)
    assert '"title"' not in text and "$ref" not in text and "$defs" not in text
    assert schema["properties"]["color"] == {"enum": ["red", "blue"], "type": "string", "default": "red"}


def test_a_property_named_title_survives_title_stripping():
    @tool
    def f(title: str, type: str) -> str:
        return ""

    assert f.definition.parameters["properties"] == {"title": {"type": "string"}, "type": {"type": "string"}}


def test_recursive_model_keeps_its_ref_under_defs():
    @tool
    def f(tree: Node) -> str:
        return ""

    schema = f.definition.parameters
    assert schema["properties"]["tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "Node" in schema["$defs"] and "title" not in schema["$defs"]["Node"]


def test_field_constraints_in_annotated_reach_the_schema():
    @tool
    def f(bbox: Annotated[list[float], Field(min_length=4, max_length=4)]) -> str:
        return ""

    assert f.definition.parameters["properties"]["bbox"] == {
        "type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
    }


def test_google_docstring_gives_description_and_parameter_texts():
    @tool
    def weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        """Current weather for a city.

        Uses the nearest station.

        Args:
            city (str): The city's name,
                e.g. "Paris".
            unit: Temperature unit.

        Returns:
            A sentence.
        """
        return ""

    assert weather.definition.description == "Current weather for a city.\n\nUses the nearest station."
    assert weather.definition.parameters["properties"]["city"]["description"] == 'The city\'s name, e.g. "Paris".'
    assert weather.definition.parameters["properties"]["unit"]["description"] == "Temperature unit."


def test_decorator_options_and_direct_call():
    @tool(name="add.numbers", description="Adds.", timeout=3, requires_approval=True)
    def add(a: int, b: int) -> int:
        return a + b

    assert isinstance(add, Tool)
    assert (add.name, add.definition.description) == ("add.numbers", "Adds.")
    assert (add.timeout, add.requires_approval) == (3, True)
    assert add(2, 3) == 5


def test_parameters_named_like_pydantic_attributes_work():
    @tool
    def f(json: str, copy: int, schema: bool) -> str:
        return f"{json}-{copy}-{schema}"

    box = Toolbox([f])
    assert invoke(box, "f", json="a", copy=2, schema=True).text == "a-2-True"


def test_ctx_parameter_is_left_out_of_the_schema_and_injected():
    seen = []

    @tool
    def f(x: int, ctx: ToolContext) -> str:
        seen.append(ctx)
        return "ok"

    assert list(f.definition.parameters["properties"]) == ["x"]
    ctx = ToolContext()
    assert invoke(Toolbox([f]), "f", ctx, x=1).text == "ok"
    assert seen == [ctx]


# -- registration refuses bad tools -----------------------------------------------------------


def test_untyped_parameter_is_refused():
    def f(a: int, b) -> str:
        return ""

    with pytest.raises(ToolDefinitionError, match="'b' has no type annotation"):
        Tool.from_function(f)


@pytest.mark.parametrize("source", ["def f(*args: int): pass", "def f(**kw: int): pass", "def f(a: int, /): pass"])
def test_variadic_and_positional_only_parameters_are_refused(source):
    namespace = {}
    exec(source, namespace)
    with pytest.raises(ToolDefinitionError, match="named arguments only"):
        Tool.from_function(namespace["f"])


def test_a_type_without_json_schema_is_refused():
    class Opaque:
        pass

    def f(thing: Opaque) -> str:
        return ""

    with pytest.raises(ToolDefinitionError, match="no JSON Schema"):
        Tool.from_function(f)


def test_duplicate_names_are_refused():
    def f(a: int) -> int:
        return a

    box = Toolbox([f])
    with pytest.raises(ToolDefinitionError, match="already registered"):
        box.add(Tool.from_function(f))


@pytest.mark.parametrize("name", ["", "has space", "semi;colon", "ünïcode", "a/b"])
def test_bad_names_are_refused(name):
    with pytest.raises(ToolDefinitionError, match="not allowed"):
        ToolDefinition(name, "", {"type": "object", "properties": {}})


@pytest.mark.parametrize("name", ["math.factorial", "get-weather", "tool_2", "A.b-c_9"])
def test_names_with_letters_digits_underscore_dash_dot_are_accepted(name):
    assert ToolDefinition(name, "", {"type": "object", "properties": {}}).name == name


def test_invalid_or_non_object_parameter_schemas_are_refused():
    with pytest.raises(ToolDefinitionError, match="invalid parameters schema"):
        ToolDefinition("f", "", {"type": "object", "properties": {"a": {"type": "strng"}}})
    with pytest.raises(ToolDefinitionError, match='"type": "object"'):
        ToolDefinition("f", "", {"type": "array"})


def test_a_schema_the_grammar_engine_refuses_is_refused_with_its_message():
    checked = []

    def stand_in_check(schema):
        checked.append(schema)
        if "pattern" in json.dumps(schema):
            raise UnsupportedSchema("/properties/code", "pattern", "lookaround cannot be compiled")

    box = Toolbox(schema_check=stand_in_check)

    @box.add
    def ok(a: int) -> int:
        return a

    code = {"type": "string", "pattern": "(?=x)"}
    spec = {"name": "bad", "parameters": {"type": "object", "properties": {"code": code}}}
    with pytest.raises(ToolDefinitionError, match="grammar engine refuses.*/properties/code.*lookaround"):
        box.add(Tool.from_schema(spec, lambda code: code))
    assert checked[0] == ok.definition.parameters
    assert "bad" not in box and "ok" in box


def test_an_unsatisfiable_schema_is_refused_too():
    def check(schema):
        raise UnsatisfiableSchema("/properties/s", "minLength > maxLength")

    with pytest.raises(ToolDefinitionError, match="no JSON value"):
        Toolbox([Tool.from_schema({"name": "f", "parameters": {"type": "object"}}, lambda: None)], schema_check=check)


# -- tools from explicit schemas --------------------------------------------------------------


def test_openai_form_is_read_and_written_back():
    spec = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    definition = ToolDefinition.from_spec(spec)
    assert definition.to_openai() == spec


def test_bfcl_form_is_normalised_to_json_schema():
    spec = {
        "name": "geo.distance",
        "description": "Distance.",
        "parameters": {
            "type": "dict",
            "properties": {
                "a": {"type": "tuple", "items": {"type": "float"}, "description": "(lat, lon)"},
                "data": {"type": "any", "description": "Anything."},
                "opts": {"type": "dict", "properties": {"exact": {"type": "boolean"}}},
                "year": {"type": "integer", "optional": True, "default": 2023},
                "properties": {"type": "float"},
            },
            "required": ["a"],
        },
    }
    parameters = ToolDefinition.from_spec(spec).parameters
    assert parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "number"}, "description": "(lat, lon)"},
            "data": {"description": "Anything."},
            "opts": {"type": "object", "properties": {"exact": {"type": "boolean"}}},
            "year": {"type": "integer", "default": 2023},
            "properties": {"type": "number"},
        },
        "required": ["a"],
    }


def test_a_spec_without_parameters_gets_an_empty_object():
    assert ToolDefinition.from_spec({"name": "ping"}).parameters == {"type": "object", "properties": {}}


@pytest.mark.skipif(not BFCL.exists(), reason="../shared/data/bfcl is not present")
def test_every_bfcl_simple_function_loads_and_accepts_its_ground_truth():
    answers = {}
    for line in BFCL.with_name("BFCL_v4_simple_python.answers.jsonl").read_text().splitlines():
        case = json.loads(line)
        answers[case["id"]] = case["ground_truth"][0]
    for line in BFCL.read_text().splitlines():
        case = json.loads(line)
        (spec,) = case["function"]
        box = Toolbox([Tool.from_schema(spec, lambda **kwargs: kwargs)])
        (name, accepted), = answers[case["id"]].items()
        arguments = first_acceptable(accepted, set(box[name].definition.parameters.get("required", [])))
        assert box.validate(ToolCall(name, arguments)) == arguments, case["id"]


def first_acceptable(accepted: dict, required: set[str]) -> dict:
    """BFCL lists acceptable values per parameter, nested dicts included; "" means "may be omitted".

    Optional parameters that may be omitted are (some of BFCL's alternatives have the wrong type).
    """
    arguments = {}
    for key, values in accepted.items():
        given = [value for value in values if value != ""]
        if given and (key in required or "" not in values):
            arguments[key] = _chosen(given[0])
    return arguments


def _chosen(value):
    if isinstance(value, dict):
        return first_acceptable(value, set(value))
    return [_chosen(item) for item in value] if isinstance(value, list) else value


def test_schema_tool_receives_arguments_as_keywords():
    box = Toolbox([Tool.from_schema({"name": "math.factorial", "parameters": {"type": "dict", "properties": {
        "number": {"type": "integer"}}, "required": ["number"]}}, lambda number: number * 2)])
    assert invoke(box, "math.factorial", number=5).text == "10"


# -- invocation -------------------------------------------------------------------------------


def test_arguments_are_coerced_into_nested_models():
    @tool
    def area(corner: Point, other: Point, color: Color = Color.RED) -> str:
        assert isinstance(corner, Point) and isinstance(color, Color)
        return f"{abs(other.x - corner.x) * abs(other.y - corner.y)} {color.value}"

    result = invoke(Toolbox([area]), "area", corner={"x": 0}, other={"x": 2, "y": 3}, color="blue")
    assert (result.is_error, result.text) == (False, "6.0 blue")


def test_invalid_arguments_become_an_error_result_and_the_tool_is_not_called():
    calls = []

    @tool
    def f(n: int, mode: Literal["a", "b"]) -> str:
        calls.append(n)
        return ""

    result = invoke(Toolbox([f]), "f", n="three", mode="c", extra=1)
    assert result.is_error and calls == []
    assert "Invalid arguments for tool 'f'" in result.text
    assert "n: 'three' is not of type 'integer'" in result.text
    assert "mode: 'c' is not one of ['a', 'b']" in result.text
    assert "'extra' was unexpected" in result.text
    assert "Call it again" in result.text


def test_validate_raises_for_unknown_tool_and_bad_arguments():
    box = Toolbox([Tool.from_function(lambda: "", name="known")])
    with pytest.raises(UnknownTool, match="'missing'.*known"):
        box.validate(ToolCall("missing", {}))
    with pytest.raises(ToolArgumentsError, match="unexpected"):
        box.validate(ToolCall("known", {"x": 1}))


def test_unknown_tool_becomes_an_error_result_listing_the_tools():
    box = Toolbox([Tool.from_function(lambda: "", name="alpha"), Tool.from_function(lambda: "", name="beta")])
    result = invoke(box, "gamma")
    assert result.is_error and "'gamma'" in result.text and "alpha, beta" in result.text


def test_an_exception_becomes_an_error_result_and_the_next_call_still_works():
    @tool
    def explode(x: int) -> str:
        if x == 0:
            raise ValueError("x must not be zero")
        return "fine"

    box = Toolbox([explode])
    failed = invoke(box, "explode", x=0)
    assert failed.is_error and "raised ValueError: x must not be zero" in failed.text
    assert invoke(box, "explode", x=1).text == "fine"


def test_tool_failed_message_goes_back_to_the_model():
    @tool
    def f() -> str:
        raise ToolFailed("the box is empty; give x1 > x0")

    result = invoke(Toolbox([f]), "f")
    assert result.is_error and result.text == "Tool 'f' failed: the box is empty; give x1 > x0"


def test_async_tools_are_awaited():
    @tool
    async def later(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    assert invoke(Toolbox([later]), "later", x=1).text == "2"


def test_sync_tools_run_off_the_event_loop_thread():
    @tool
    def where() -> str:
        return threading.current_thread().name

    assert invoke(Toolbox([where]), "where").text == "tool-where"


def test_a_hung_sync_tool_times_out_and_is_abandoned():
    release = threading.Event()

    @tool(timeout=0.2)
    def hang() -> str:
        release.wait()
        return "too late"

    try:
        result = invoke(Toolbox([hang]), "hang")
    finally:
        release.set()
    assert result.is_error and "did not finish within 0.2 s" in result.text


def test_a_hung_async_tool_times_out():
    @tool(timeout=0.2)
    async def hang() -> str:
        await asyncio.Event().wait()
        return "never"

    result = invoke(Toolbox([hang]), "hang")
    assert result.is_error and "did not finish within 0.2 s" in result.text


def test_an_unsupported_return_type_becomes_an_error_result():
    @tool
    def weird() -> object:
        return object()

    result = invoke(Toolbox([weird]), "weird")
    assert result.is_error and "cannot be shown" in result.text and "object" in result.text


def test_parallel_invocations_run_concurrently():
    both = threading.Barrier(2, timeout=5)

    @tool
    def meet() -> str:
        both.wait()
        return "met"

    box = Toolbox([meet])

    async def main():
        return await asyncio.gather(box.invoke(ToolCall("meet", {})), box.invoke(ToolCall("meet", {})))

    assert [result.text for result in asyncio.run(main())] == ["met", "met"]


# -- approval ---------------------------------------------------------------------------------


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file."""
    return f"deleted {path}"


def test_approval_tools_are_denied_by_default_with_a_message():
    result = invoke(Toolbox([delete_file]), "delete_file", path="a.txt")
    assert result.is_error and "denied" in result.text and "did not run" in result.text


def test_the_approval_callback_sees_the_call_and_decides():
    asked = []

    def approve(call):
        asked.append(call)
        return call.arguments["path"] == "ok.txt"

    box = Toolbox([delete_file])
    assert invoke(box, "delete_file", approve=approve, path="ok.txt").text == "deleted ok.txt"
    assert "denied" in invoke(box, "delete_file", approve=approve, path="no.txt").text
    assert asked == [ToolCall("delete_file", {"path": "ok.txt"}), ToolCall("delete_file", {"path": "no.txt"})]


def test_an_async_approval_callback_is_awaited():
    async def approve(call):
        return True

    assert invoke(Toolbox([delete_file]), "delete_file", approve=approve, path="x").text == "deleted x"


def test_tools_without_requires_approval_never_ask():
    def approve(call):
        raise AssertionError("asked")

    assert invoke(Toolbox([Tool.from_function(lambda: "hi", name="hi")]), "hi", approve=approve).text == "hi"


# -- results ----------------------------------------------------------------------------------


def red(size=(4, 3)) -> Image.Image:
    return Image.new("RGB", size, (255, 0, 0))


def test_text_and_json_results():
    assert to_tool_result("hello") == ToolResult([TextPart("hello")])
    assert to_tool_result({"a": [1, 2.5, None]}).text == '{"a":[1,2.5,null]}'
    assert to_tool_result([1, "two"]).text == '[1,"two"]'
    assert to_tool_result(Point(x=1)).text == '{"x":1.0,"y":0.0}'
    assert to_tool_result(None).text == "null"


def test_image_results_from_pil_path_and_bytes(tmp_path):
    path = tmp_path / "r.png"
    red().save(path)
    buffer = io.BytesIO()
    red().save(buffer, format="PNG")
    for value in (red(), path, buffer.getvalue()):
        (part,) = to_tool_result(value).parts
        assert isinstance(part, Image.Image) and part.size == (4, 3)
        assert part.getpixel((0, 0)) == (255, 0, 0)


def test_a_str_is_text_even_when_it_names_a_file(tmp_path):
    path = tmp_path / "r.png"
    red().save(path)
    assert to_tool_result(str(path)).parts == [TextPart(str(path))]


def test_a_list_mixing_text_and_images_keeps_its_order():
    result = to_tool_result(["before", red(), {"n": 1}, ImagePart("img_0")])
    assert [type(part) for part in result.parts] == [TextPart, Image.Image, TextPart, ImagePart]
    assert result.parts[2].text == '{"n":1}'


def test_a_list_of_parts_stays_parts():
    assert to_tool_result([TextPart("a"), TextPart("b")]).parts == [TextPart("a"), TextPart("b")]


def test_a_tool_result_passes_through():
    result = ToolResult([TextPart("x")], is_error=True)
    assert to_tool_result(result) is result


def test_bytes_that_are_no_image_are_refused():
    with pytest.raises(ToolFailed, match="could not be read as an image"):
        to_tool_result(b"not an image")


def test_returned_images_enter_the_store_and_the_result_names_their_id():
    @tool
    def paint() -> list:
        return ["two images:", red(), red((8, 8))]

    ctx = ToolContext()
    ctx.images.add(red())
    result = invoke(Toolbox([paint]), "paint", ctx)
    assert [part.image_id for part in result.images] == ["img_1", "img_2"]
    assert "Image img_1 (4x3 px):" in result.text and "Image img_2 (8x8 px):" in result.text
    assert ctx.images.ids() == ["img_0", "img_1", "img_2"]


def test_a_returned_image_part_must_name_an_image_the_conversation_holds():
    ctx = ToolContext()
    ctx.images.add(red())
    box = Toolbox([Tool.from_function(lambda: [ImagePart("img_0")], name="again"),
                   Tool.from_function(lambda: ImagePart("img_5"), name="ghost")])
    assert invoke(box, "again", ctx).parts == [ImagePart("img_0")]
    ghost = invoke(box, "ghost", ctx)
    assert ghost.is_error and "it names image 'img_5', which the conversation does not hold" in ghost.text


def test_tool_results_and_messages_share_one_text_part_and_one_image_part():
    from a3agent.agent import messages

    assert (messages.TextPart, messages.ImagePart) == (TextPart, ImagePart)


def test_stored_tool_images_keep_more_pixels_than_the_model_is_shown():
    from a3agent.model.images import DEFAULT_MAX_PIXELS
    from a3agent.tools import MAX_STORED_PIXELS

    assert MAX_STORED_PIXELS > DEFAULT_MAX_PIXELS


def test_huge_returned_images_are_capped_at_max_pixels():
    @tool
    def huge() -> Image.Image:
        return Image.new("RGB", (4000, 3000))

    ctx = ToolContext()
    result = invoke(Toolbox([huge], max_pixels=120_000), "huge", ctx)
    (part,) = result.images
    assert part.image_id == "img_0" and ctx.images.get("img_0").size == (400, 300)
    assert "downscaled from 4000x3000" in result.text


def test_to_openai_lists_every_definition():
    box = Toolbox([Tool.from_function(lambda: "", name="a"), Tool.from_function(lambda: "", name="b")])
    assert [spec["function"]["name"] for spec in box.to_openai()] == ["a", "b"]
    assert [d.name for d in box.definitions()] == ["a", "b"] and len(box) == 2


def test_the_tools_room_imports_no_downstream_room():
    downstream = ("a3agent.model", "a3agent.agent", "a3agent.cli", "a3agent.grammars")
    for path in (Path(__file__).resolve().parents[1] / "a3agent" / "tools").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(name.startswith(downstream) for name in names), f"{path.name} imports {names}"


def test_a_remote_ref_in_a_tool_schema_is_never_fetched(schema_server):
    definition = ToolDefinition("f", "", {"type": "object", "properties": {"a": {"$ref": f"{schema_server.url}/a.json"}}})
    with pytest.raises(ToolDefinitionError, match="does not resolve"):
        Tool(definition, lambda a: a).to_kwargs({"a": 1})
    assert schema_server.requests == []



@pytest.mark.parametrize("parameters, message", [
    ({"type": "object", "$schema": 5}, "its $schema is no draft URI"),
    ({"type": "object", "allOf": [{"$ref": "#/defs/p"}], "defs": {"p": {"allOf": 5}}}, "at #/defs/p: 5 is not of type 'array'"),
])
def test_a_malformed_parameters_schema_is_refused_where_the_meta_schema_cannot_see_it(parameters, message):
    with pytest.raises(ToolDefinitionError, match=re.escape(message)):
        ToolDefinition("f", "", parameters)


@pytest.mark.parametrize(("parts", "refusal"), [(None, "parts are a NoneType, not a list"),
                                                ([TextPart("x"), 42], "a part of type int is neither text nor an image")])
def test_a_hand_built_result_with_parts_the_toolbox_cannot_show_is_refused(parts, refusal):
    with pytest.raises(ToolFailed, match=refusal):
        to_tool_result(ToolResult(parts))


def test_a_hand_built_results_str_parts_are_text():
    assert to_tool_result(ToolResult(["found it"], is_error=None)) == ToolResult([TextPart("found it")], False)


def test_a_tool_returning_a_result_with_no_parts_list_gets_an_error_result_not_a_crash():
    box = Toolbox([Tool.from_schema({"name": "none", "parameters": {"type": "object"}}, lambda: ToolResult(None))])
    result = asyncio.run(box.invoke(ToolCall("none", {})))
    assert result.is_error and "parts are a NoneType, not a list" in result.text
