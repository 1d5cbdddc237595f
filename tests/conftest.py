"""Shared fixtures. Everything runs offline, on CPU."""

import pytest


# -- model room: a throwaway a3agent home, the offline tokenizer and the tiny checkpoint ----------


@pytest.fixture(scope="session", autouse=True)
def a3agent_home_dir(tmp_path_factory):
    """A fresh A3AGENT_HOME for the whole session, so no test reads or writes ~/.cache/a3agent."""
    home = tmp_path_factory.mktemp("a3agent-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("A3AGENT_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def a_series_tokenizer():
    """The offline A-series tokenizer (built once per session)."""
    from a3agent.model.tokenizer import offline_tokenizer

    return offline_tokenizer()


@pytest.fixture(scope="session")
def tiny_loaded():
    """The tiny A3-shaped checkpoint, built into the session's home and loaded through `load_model`."""
    from a3agent.model.loading import load_model

    return load_model("tiny", device="cpu")


# -- cli: an image file, and a folder with a tools module for `--tools module:attr` ---------------


@pytest.fixture(scope="session")
def sample_image_file(tmp_path_factory):
    """The demo's fruit bowl, as a PNG file."""
    from a3agent.cli.sample_image import fruit_bowl

    path = tmp_path_factory.mktemp("images") / "bowl.png"
    fruit_bowl().save(path)
    return path


WEATHER_TOOLS = '''
from a3agent.tools import tool


def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: Name of the city.
    """
    return f"14 degrees and cloudy in {city}"


tools = [get_weather]
guarded = [tool(get_weather, requires_approval=True)]
'''


@pytest.fixture(scope="session")
def tools_dir(tmp_path_factory):
    """A folder holding `weather_tools.py` (`tools`, and `guarded` asking approval): run the CLI there.

    The scripted model's `weather_episode` calls `get_weather`.
    """
    folder = tmp_path_factory.mktemp("cli-tools")
    (folder / "weather_tools.py").write_text(WEATHER_TOOLS, encoding="utf-8")
    return folder


# -- cli processes: one interpreter that has imported torch and transformers, forked per run -------


@pytest.fixture(scope="session")
def cli_zygote(a3agent_home_dir, tmp_path_factory):
    """`cli_zygote.argv(*ARGS)`: arguments for `sys.executable` that run `a3agent ARGS` in a fork of an
    interpreter that has already imported torch, transformers and a3agent's model (see cli_zygote.py).
    Its environment is the pseudo-terminal tests' one; a run with another one starts a fresh interpreter."""
    import os

    from cli_zygote import CliZygote

    zygote = CliZygote(os.environ | {"TERM": "xterm", "LANG": "C.UTF-8"}, tmp_path_factory.mktemp("cli-zygote"))
    yield zygote
    zygote.close()


class _SchemaServer:
    """A local HTTP server that answers every GET with `{"type": "integer"}` and records the paths."""

    def __init__(self) -> None:
        import http.server
        import threading

        requests: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                body = b'{"type": "integer"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.requests = requests
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def schema_server():
    """A server a `$ref` could be fetched from: tests assert it never is (`.requests` stays empty)."""
    server = _SchemaServer()
    yield server
    server.server.shutdown()
    server.server.server_close()
