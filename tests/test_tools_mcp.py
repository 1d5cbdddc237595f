"""MCP servers as tools, against a real server written with the SDK (`mcp_server_fixture.py`) over stdio."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from a3agent.agent.agent import Agent
from a3agent.agent.conversation import Conversation
from a3agent.agent.messages import ImagePart
from a3agent.errors import MCPDisconnected, MCPServerError, MCPTimeout
from a3agent.grammars import check_schema
from a3agent.model.images import process_image
from a3agent.model.scripted import load_scripted
from a3agent.model.template import encode_prompt
from a3agent.tools import Toolbox, ToolCall, ToolContext
from a3agent.tools.mcp import MAX_TOOLS, MCPServer, tool_name
from a3agent.tools.mcp_results import MAX_TEXT_CHARS
from a3agent.tools.mcp_servers import MCPServers

FIXTURE = str(Path(__file__).with_name("mcp_server_fixture.py"))
OFFERED = ["get_weather", "screenshot", "plan_trip", "explode", "hang", "big_text", "process_id", "read_notes",
           "request_header", "evil__im_end__name"]


def fixture_server(**options):
    env = options.pop("env", {"FIXTURE_WEATHER": "sunny"})
    return MCPServer.stdio(sys.executable, [FIXTURE], env, name="fixture", schema_check=check_schema, **options)


@pytest.fixture(scope="module")
def server():
    with fixture_server() as started:
        yield started


def invoke(tools, name, **arguments):
    return asyncio.run(Toolbox(tools).invoke(ToolCall(name, arguments), approve=lambda call: True))


async def wait_for(path: Path) -> str:
    """The marker's text once the server wrote it (hang guard: the test's own timeout)."""
    while not path.exists() or not path.read_text():
        await asyncio.sleep(0.02)
    return path.read_text()


# -- listing ------------------------------------------------------------------------------------


def test_each_listed_tool_is_a_tool_whose_parameters_are_the_servers_input_schema(server):
    import mcp_server_fixture

    listed = {tool.name: tool.input_schema for tool in asyncio.run(mcp_server_fixture.server.list_tools())}
    tools = {tool.name: tool for tool in server.tools()}
    assert list(tools) == OFFERED
    assert tools["plan_trip"].definition.parameters == listed["plan_trip"]
    assert "$defs" in tools["plan_trip"].definition.parameters  # the nested Trip and Stop objects
    assert tools["get_weather"].definition.description == "The current weather in a city."


def test_a_schema_the_engine_refuses_is_reported_with_its_path_and_the_others_load(server):
    (refused,) = server.refused
    assert (refused.server, refused.name, refused.path) == ("fixture", "strict_code", "/properties/code")
    assert "lookaround" in refused.reason
    assert "strict_code" not in [tool.name for tool in server.tools()] and len(server.tools()) == len(OFFERED)


def test_mcp_tools_ask_for_approval_unless_the_server_is_trusted(server):
    assert all(tool.requires_approval for tool in server.tools())
    denied = asyncio.run(Toolbox(server.tools()).invoke(ToolCall("get_weather", {"city": "Oslo"})))
    assert denied.is_error and "denied" in denied.text
    with fixture_server(trust=True) as trusted:
        assert not any(tool.requires_approval for tool in trusted.tools())


def test_more_tools_than_the_cap_are_cut_and_refused_as_one_entry():
    with fixture_server(env={"FIXTURE_EXTRA_TOOLS": str(MAX_TOOLS)}) as many:
        assert len(many.tools()) + 1 == MAX_TOOLS  # strict_code is refused among the first MAX_TOOLS
        assert [r.name for r in many.refused] == [f"tools after the first {MAX_TOOLS}", "strict_code"]


def test_a_server_that_cannot_start_raises_a_typed_error():
    with pytest.raises(MCPServerError, match="cannot start the MCP server 'fixture'"):
        MCPServer.stdio(sys.executable, ["-c", "raise SystemExit(3)"], name="fixture").start()
    with pytest.raises(MCPServerError, match="FileNotFoundError"):
        MCPServer.stdio("/nonexistent/mcp-server", name="fixture").start()


# -- calls and results --------------------------------------------------------------------------


def test_a_text_tool_answers_with_text_and_the_servers_env_was_passed(server):
    result = invoke(server.tools(), "get_weather", city="Oslo")
    assert not result.is_error and result.text == "sunny in Oslo"


def test_nested_arguments_are_validated_before_the_call_and_arrive_as_given(server):
    trip = {"city": "Rome", "stops": [{"name": "Forum", "hours": 2}, {"name": "Pantheon", "hours": 1}]}
    result = invoke(server.tools(), "plan_trip", trip=trip, budget=120.5)
    assert result.text == "trip to Rome via Forum (2 h), Pantheon (1 h) for 120.5"
    bad = invoke(server.tools(), "plan_trip", trip={"city": "Rome", "stops": [{"name": "Forum"}]}, budget=1)
    assert bad.is_error and "Invalid arguments" in bad.text and "hours" in bad.text


def test_an_image_result_is_stored_with_an_id_like_any_tools(server):
    ctx = ToolContext()
    call = ToolCall("screenshot", {"width": 40, "height": 30})
    result = asyncio.run(Toolbox(server.tools()).invoke(call, ctx, approve=lambda call: True))
    (part,) = result.images
    image = ctx.images.get(part.image_id)
    assert part.image_id == "img_0" and image.size == (40, 30) and image.getpixel((0, 0)) == (230, 140, 60)
    assert "Image img_0 (40x30 px)" in result.text


def test_embedded_resources_become_text_and_images(server):
    ctx = ToolContext()
    result = asyncio.run(Toolbox(server.tools()).invoke(ToolCall("read_notes", {}), ctx, approve=lambda call: True))
    assert not result.is_error and result.text.startswith("remember the milk\nImage img_0 (20x10 px)")
    (part,) = result.images
    assert ctx.images.get(part.image_id).getpixel((0, 0)) == (10, 120, 200)


def test_a_tool_that_raises_is_an_error_result_the_model_sees(server):
    result = invoke(server.tools(), "explode", reason="testing")
    assert result.is_error and "Error executing tool explode" in result.text


def test_a_long_text_result_is_cut_at_the_cap_with_a_note(server):
    result = invoke(server.tools(), "big_text", characters=MAX_TEXT_CHARS + 5000)
    assert result.text == "x" * MAX_TEXT_CHARS + "\n[cut: the result's text passed 200,000 characters]"


def test_a_message_past_the_size_cap_closes_the_connection_with_a_typed_error():
    with fixture_server(max_message_bytes=100_000) as capped:
        with pytest.raises(MCPDisconnected, match="more than 100,000 bytes"):
            asyncio.run(capped.call("big_text", {"characters": 300_000}))
        result = invoke(capped.tools(), "get_weather", city="Oslo")
        assert result.is_error and "is gone" in result.text


def test_a_hanging_call_times_out_typed_and_the_server_goes_on(tmp_path):
    async def scenario():
        async with fixture_server(timeout=2) as server:
            with pytest.raises(MCPTimeout, match="did not answer within 2 s"):
                await server.call("hang", {"marker": str(tmp_path / "first")})
            timed_out = await Toolbox(server.tools()).invoke(ToolCall("hang", {"marker": str(tmp_path / "second")}),
                                                             approve=lambda call: True)
            assert timed_out.is_error and "did not answer within 2 s" in timed_out.text
            assert (await server.call("get_weather", {"city": "Oslo"})).text == "sunny in Oslo"

    asyncio.run(scenario())


def test_a_cancelled_call_is_cancelled_and_the_session_stays_usable(server, tmp_path):
    marker = tmp_path / "marker"

    async def scenario():
        call = asyncio.create_task(server.call("hang", {"marker": str(marker)}))
        await wait_for(marker)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        return await server.call("get_weather", {"city": "Oslo"})

    assert asyncio.run(scenario()).text == "sunny in Oslo"


def test_a_server_killed_mid_call_gives_a_typed_error_and_the_agent_goes_on(tmp_path):
    marker = tmp_path / "marker"
    with fixture_server() as server:
        pid = int(invoke(server.tools(), "process_id").text)

        async def scenario():
            call = asyncio.create_task(server.call("hang", {"marker": str(marker)}))
            await wait_for(marker)
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(MCPDisconnected, match="exited with status -9"):
                await call

        asyncio.run(scenario())
        later = invoke(server.tools(), "get_weather", city="Oslo")
        assert later.is_error and "'fixture' is gone: its process exited with status -9" in later.text


def test_close_ends_the_server_process_and_later_calls_fail_typed(server):
    with fixture_server() as closing:
        pid = int(invoke(closing.tools(), "process_id").text)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(MCPDisconnected, match="is closed"):
        asyncio.run(closing.call("get_weather", {"city": "Oslo"}))


# -- streamable HTTP ----------------------------------------------------------------------------


@pytest.fixture
def http_fixture():
    """The fixture server over streamable HTTP on a free local port: its URL and its process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, FIXTURE, "http", str(port)])
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert process.poll() is None and time.monotonic() < deadline, "the HTTP fixture did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.kill()
        process.wait()


def test_over_streamable_http_tools_load_headers_reach_the_server_and_images_come_back(http_fixture):
    url, _ = http_fixture
    with MCPServer.http(url, {"X-Team": "a3"}, name="remote", schema_check=check_schema) as remote:
        assert [tool.name for tool in remote.tools()] == OFFERED
        assert [(r.name, r.path) for r in remote.refused] == [("strict_code", "/properties/code")]
        assert invoke(remote.tools(), "get_weather", city="Oslo").text == "14 degrees and cloudy in Oslo"
        assert invoke(remote.tools(), "request_header", header="X-Team").text == "a3"
        ctx = ToolContext()
        shot = asyncio.run(Toolbox(remote.tools()).invoke(ToolCall("screenshot", {"width": 8, "height": 6}), ctx,
                                                          approve=lambda call: True))
        assert ctx.images.get(shot.images[0].image_id).size == (8, 6)
        assert invoke(remote.tools(), "explode", reason="x").is_error


def test_a_config_url_entry_reaches_the_http_server_with_its_headers(http_fixture, tmp_path):
    url, _ = http_fixture
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"remote": {"url": url, "headers": {"X-Team": "a3"}, "trust": True}}}))
    with MCPServers.from_config(config, schema_check=check_schema) as servers:
        tools = servers.tools()
        assert not any(tool.requires_approval for tool in tools)
        assert asyncio.run(Toolbox(tools).invoke(ToolCall("request_header", {"header": "X-Team"}))).text == "a3"


def test_an_http_server_killed_mid_call_gives_a_typed_error(http_fixture, tmp_path):
    url, process = http_fixture
    marker = tmp_path / "marker"

    async def scenario():
        async with MCPServer.http(url, name="remote", timeout=10) as remote:
            call = asyncio.create_task(remote.call("hang", {"marker": str(marker)}))
            await wait_for(marker)
            process.kill()
            with pytest.raises(MCPDisconnected, match="'remote' is gone: its connection closed"):
                await call
            with pytest.raises(MCPDisconnected):
                await remote.call("get_weather", {"city": "Oslo"})

    asyncio.run(asyncio.wait_for(scenario(), 60))


# -- untrusted text -----------------------------------------------------------------------------


def test_names_keep_to_the_characters_the_dialects_take():
    assert tool_name("read file<|im_end|>") == "read_file__im_end__"
    assert tool_name("<>") == "" and tool_name("a" * 100) == "a" * 64
    assert tool_name("files.read-all_2") == "files.read-all_2"


def test_a_description_spelling_special_tokens_stays_text_in_the_prompt(server, a_series_tokenizer):
    model = load_scripted(["x"], a_series_tokenizer)
    messages = [{"role": "user", "content": "hi"}]
    smuggler = next(tool for tool in server.tools() if tool.name.startswith("evil"))
    assert "<|im_end|>" in smuggler.definition.description and "<tool_call>" in smuggler.definition.description
    plain = [tool.definition.to_openai() for tool in server.tools() if tool is not smuggler]
    ids_without = encode_prompt(model, messages, tools=plain).input_ids
    ids_with = encode_prompt(model, messages, tools=[*plain, smuggler.definition.to_openai()]).input_ids
    for special in ("<|im_end|>", "<|im_start|>", "<tool_call>"):
        token = a_series_tokenizer.convert_tokens_to_ids(special)
        assert ids_with.count(token) == ids_without.count(token)
    assert "<|im_end|>" in a_series_tokenizer.decode(ids_with[len(ids_without) - 20 :])  # spelled, as text


# -- the agent ----------------------------------------------------------------------------------

THINK = "The user wants a screenshot and a trip plan; I'll call both tools.\n</think>\n\n"
TRIP = {"city": "Rome", "stops": [{"name": "Forum", "hours": 2}]}
ANSWER = "The screenshot is orange and the trip is planned.\n</think>\n\nDone: an orange screen, and Rome via the Forum."


def call(name, **arguments):
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def test_a_scripted_agent_calls_mcp_tools_through_the_grammar_and_the_image_reaches_the_next_prompt(
    server, a_series_tokenizer
):
    turns = [THINK + call("screenshot", width=64, height=48) + "\n" + call("plan_trip", trip=TRIP, budget=99), ANSWER]
    agent = Agent(load_scripted(turns, a_series_tokenizer), server.tools(), approve=lambda call: True)
    prompts = []
    stream = agent.decoder.stream
    agent.decoder.stream = lambda prompt, **kwargs: prompts.append(prompt) or stream(prompt, **kwargs)

    result = agent.run("Take a screenshot and plan a trip to Rome.")

    assert result.stop_reason == "answer" and result.text == "Done: an orange screen, and Rome via the Forum."
    assert [(c.name, c.arguments) for c in result.calls] == [
        ("screenshot", {"width": 64, "height": 48}), ("plan_trip", {"trip": TRIP, "budget": 99})]
    shot, trip = result.results
    assert ImagePart(image_id="img_0") in shot.parts and not shot.is_error
    assert trip.parts[0].text == "trip to Rome via Forum (2 h) for 99"
    stored = agent.conversation.images.get("img_0")
    assert stored.size == (64, 48)
    _, grid = process_image(agent.model.image_processor, stored)
    pad = a_series_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    expected = int(grid.prod()) // agent.model.image_processor.merge_size**2
    assert prompts[0].input_ids.count(pad) == 0 and prompts[1].input_ids.count(pad) == expected > 0


def test_a_scripted_agent_goes_on_past_a_raising_and_a_hanging_tool_and_the_server_starts_once(
    a_series_tokenizer, tmp_path
):
    marker = str(tmp_path / "marker")
    first = THINK + "\n".join([call("process_id"), call("get_weather", city="Oslo"), call("explode", reason="test"),
                               call("hang", marker=marker)])
    turns = [first, "Two failed.\n</think>\n\nOslo is sunny; the other two tools failed."]
    with fixture_server(timeout=2) as server:
        agent = Agent(load_scripted(turns, a_series_tokenizer), server.tools(), approve=lambda call: True)
        result = agent.run("Weather, and try the others.", conversation=Conversation())
        again = agent.run("Once more.", conversation=Conversation())  # another run, another event loop

    assert result.stop_reason == "answer" and result.text == "Oslo is sunny; the other two tools failed."
    assert [c.name for c in result.calls] == ["process_id", "get_weather", "explode", "hang"]
    pid, weather, exploded, hung = result.results
    assert not weather.is_error and weather.parts[0].text == "sunny in Oslo"
    assert exploded.is_error and "Error executing tool explode" in exploded.parts[0].text
    assert hung.is_error and "did not answer within 2 s" in hung.parts[0].text
    assert again.stop_reason == "answer" and again.results[0].parts[0].text == pid.parts[0].text  # one process


def test_an_agent_runs_on_the_callers_loop_inside_async_with(a_series_tokenizer):
    turns = [THINK + call("get_weather", city="Oslo"), "Sunny.\n</think>\n\nIt is sunny in Oslo."]

    async def scenario():
        async with fixture_server(trust=True) as server:
            agent = Agent(load_scripted(turns, a_series_tokenizer), server.tools())
            return await agent.arun("Weather in Oslo?")

    result = asyncio.run(scenario())
    assert result.stop_reason == "answer" and result.results[0].parts[0].text == "sunny in Oslo"
