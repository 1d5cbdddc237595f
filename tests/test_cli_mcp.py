"""`--mcp CONFIG.json`: the config format, and the REPL and `run` driving the fixture MCP server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from a3agent.errors import MCPServerError
from a3agent.tools.mcp_servers import MCPServers

FIXTURE = str(Path(__file__).with_name("mcp_server_fixture.py"))
PROMPT = ">>> "


def config(tmp_path, **servers):
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def fixture_entry(**extra):
    return {"command": sys.executable, "args": [FIXTURE], **extra}


# -- the config format --------------------------------------------------------------------------


@pytest.mark.parametrize(("servers", "message"), [
    ({"a": {"args": []}}, "needs exactly one of \"command\""),
    ({"a": {"command": "x", "url": "http://h/mcp"}}, "needs exactly one of"),
    ({"a": {"command": "x", "disabled": True}}, "does not know: disabled"),
    ({"a": {"command": "x", "args": "--flag"}}, "mcpServers.a.args must be a list of strings"),
    ({"a": {"url": "http://h/mcp", "headers": {"X": 1}}}, "mcpServers.a.headers must be an object of strings"),
    ({"a": {"command": "x", "trust": "yes"}}, "mcpServers.a.trust must be true or false"),
    ({"a": {"url": "http://h/sse", "type": "sse"}}, "type 'sse' is not supported"),
    ({"a b": {"command": "x"}, "a_b": {"command": "y"}}, "two MCP servers are named 'a_b'"),
])  # fmt: skip
def test_a_bad_config_entry_is_refused_by_name(tmp_path, servers, message):
    with pytest.raises(MCPServerError, match=message):
        MCPServers.from_config(config(tmp_path, **servers))


def test_a_config_that_is_not_an_mcp_servers_object_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(MCPServerError, match="needs an object"):
        MCPServers.from_config(tmp_path / "bad.json")
    with pytest.raises(MCPServerError, match="cannot read the MCP config"):
        MCPServers.from_config(tmp_path / "missing.json")


def test_names_two_servers_share_get_the_server_name_in_front_and_trust_is_per_server(tmp_path):
    path = config(tmp_path, north=fixture_entry(), south=fixture_entry(trust=True))
    with MCPServers.from_config(path) as servers:
        named = {tool.name: (server.name, tool.requires_approval) for server, tool in servers.named_tools(["explode"])}
    assert named["north.get_weather"] == ("north", True) and named["south.get_weather"] == ("south", False)
    assert "get_weather" not in named and "north.explode" in named  # `explode` is taken by another tool
    assert {name for name in named if "." not in name} == set()


# -- the REPL and run ---------------------------------------------------------------------------


def test_chat_with_mcp_lists_the_tools_with_their_server_and_approves_a_call(tmp_path, cli_zygote):
    starts = tmp_path / "starts"
    path = config(tmp_path, fixture=fixture_entry(env={"FIXTURE_STARTS": str(starts)}))
    child = pexpect.spawn(
        sys.executable, cli_zygote.argv("chat", "--model", "scripted:weather_episode", "--tools", "none",
                                        "--mcp", str(path)),
        env=os.environ | {"TERM": "xterm", "LANG": "C.UTF-8"}, encoding="utf-8", codec_errors="replace",
        timeout=180, dimensions=(50, 160),
    )  # fmt: skip
    try:
        child.expect_exact("MCP server fixture: tool strict_code is left out: /properties/code")
        child.expect_exact(PROMPT)
        child.sendline("/tools")
        child.expect(r"get_weather +fixture +The current weather in a city\. [^\r\n]*asks before it runs")
        child.expect(r"plan_trip +fixture")
        child.expect_exact(PROMPT)
        child.sendline("What's the weather in London?")
        child.expect_exact("tool call · get_weather")
        child.expect(r"run get_weather\? it has side effects(\x1b\[0m)? \[y/N\] ")
        child.sendline("y")
        child.expect_exact("result · get_weather")
        child.expect_exact("14 degrees and cloudy in London")  # the MCP server's answer
        child.expect_exact("It's 14 °C and cloudy in London right now.")
        child.expect_exact(PROMPT)
        child.sendline("/reset")  # a new conversation: the script calls the tool again
        child.expect_exact(PROMPT)
        child.sendline("And now?")
        child.expect(r"run get_weather\? it has side effects(\x1b\[0m)? \[y/N\] ")
        child.sendline("y")
        child.expect_exact("14 degrees and cloudy in London")
        child.expect_exact(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    (pid,) = starts.read_text().splitlines()  # one server process for the whole REPL
    with pytest.raises(ProcessLookupError):  # and it ended with the REPL
        os.kill(int(pid), 0)


def test_run_with_a_trusted_mcp_server_calls_its_tool_without_asking(tmp_path, cli_zygote):
    path = config(tmp_path, fixture=fixture_entry(trust=True, env={"FIXTURE_WEATHER": "21 degrees and sunny"}))
    done = subprocess.run(
        [sys.executable, *cli_zygote.argv("run", "Weather in London?", "--json", "--model", "scripted:weather_episode",
                                          "--tools", "none", "--mcp", str(path))],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    (step_result,) = result["steps"][0]["results"]
    assert not step_result["is_error"] and step_result["parts"][0]["text"] == "21 degrees and sunny in London"


def test_run_with_a_config_that_names_no_usable_server_fails_with_one_line(tmp_path):
    path = config(tmp_path, broken={"command": "/nonexistent/mcp-server"})
    done = subprocess.run(
        [sys.executable, "-c", "from a3agent.cli.app import main; main()", "run", "hi", "--model",
         "scripted:weather_episode", "--mcp", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "cannot start the MCP server 'broken'" in done.stderr and "Traceback" not in done.stderr
