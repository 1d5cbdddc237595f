"""Clients no one here wrote, and the command itself: a pydantic-ai Agent runs a tool call through
the server; `a3agent serve` starts from the command line and answers the `openai` client; it
refuses to listen beyond loopback without an API key."""

import socket
import subprocess
import sys

import httpx
import openai
from typer.testing import CliRunner

from a3agent.cli.app import app
from tests.serve_support import HANG_GUARD_S, serve_in_thread, wait_until


def test_a_pydantic_ai_agent_runs_a_tool_call_through_the_server():
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    from a3agent.model.scripted import load_scripted

    with serve_in_thread(load_scripted("weather_episode")) as running:
        provider = OpenAIProvider(base_url=running.base_url, api_key="unused")
        agent = Agent(OpenAIChatModel("test-model", provider=provider))
        cities: list[str] = []

        @agent.tool_plain
        def get_weather(city: str) -> str:
            """The current weather in a city."""
            cities.append(city)
            return "14 °C and cloudy"

        result = agent.run_sync("What is the weather in London?",
                                model_settings={"max_tokens": 120, "temperature": 0.0})
    assert cities == ["London"]
    assert result.output == "It's 14 °C and cloudy in London right now."


def test_binding_beyond_loopback_without_a_key_is_refused_before_loading_anything():
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--model", "scripted:weather_episode"])
    assert result.exit_code != 0
    assert "--api-key" in result.output
    assert "requires --api-key" in CliRunner().invoke(app, ["serve", "--help"]).output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_serve_command_answers_the_openai_client(tmp_path):
    port = _free_port()
    command = [sys.executable, "-c", "from a3agent.cli.app import main; main()", "serve", "--model", "scripted:weather_episode",
               "--port", str(port), "--api-key", "k"]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"authorization": "Bearer k"}).is_success
            except httpx.TransportError:
                return False

        wait_until(up, "a3agent serve to listen")
        api = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0, timeout=HANG_GUARD_S)
        response = api.chat.completions.create(
            model="scripted:weather_episode", messages=[{"role": "user", "content": "Weather in London?"}],
            tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {
                "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
            max_tokens=120, temperature=0)
        assert response.choices[0].message.tool_calls[0].function.arguments == '{"city": "London"}'
    finally:
        server.terminate()
        server.wait(HANG_GUARD_S)
        log.close()
