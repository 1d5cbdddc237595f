"""`a3agent serve` against input no well-behaved client sends: tool definitions OpenAI would refuse,
images past the limits or not images at all, image URLs that point into the server's own network,
seeds and prompts past what the model takes. Each is a 400 in OpenAI's error shape naming the field,
never a 500, and never a call the client cannot read."""

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest
from PIL import Image

from tests.serve_support import serve_in_thread

ASK = [{"role": "user", "content": "What is the weather in London?"}]


def client(running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0)


def png_bytes(size=(32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def bad_request(api: openai.OpenAI, **request) -> dict:
    """The error object of a request that must be a 400."""
    with pytest.raises(openai.BadRequestError) as error:
        api.chat.completions.create(model="test-model", **{"messages": ASK, "max_tokens": 60, **request})
    body = error.value.body
    assert set(body) >= {"message", "type", "param", "code"} and body["type"] == "invalid_request_error"
    return body


@pytest.fixture(scope="module")
def scripted():
    from a3agent.model.scripted import load_scripted

    with serve_in_thread(load_scripted("weather_episode"), max_image_bytes=4096, max_images=1) as running:
        yield running


@pytest.fixture(scope="module")
def tiny(tiny_loaded):
    with serve_in_thread(tiny_loaded, max_body_bytes=512 * 1024) as running:
        yield running


# -- tool definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize("function, message", [
    ({"name": "f", "parameters": {"type": "string"}}, '"type": "object"'),
    ({"name": "f", "parameters": {"type": "array", "items": {"type": "integer"}}}, '"type": "object"'),
    ({"name": "<think>", "parameters": {"type": "object"}}, "is not allowed"),
    ({"name": "get weather", "parameters": {"type": "object"}}, "is not allowed"),
    ({"name": "f", "parameters": {"type": "object", "properties": 3}}, "invalid parameters schema"),
])
def test_a_tool_openai_would_refuse_is_a_400_naming_it(scripted, function, message):
    body = bad_request(client(scripted), tools=[{"type": "function", "function": function}], tool_choice="required")
    assert body["param"] == "tools[0].function" and body["code"] == "invalid_tool"
    assert message in body["message"]


@pytest.mark.parametrize("parameters", [{}, {"properties": {"city": {"type": "string"}}, "required": ["city"]}])
def test_a_schema_without_a_type_is_read_as_an_object_so_required_still_gives_a_readable_call(tiny, parameters):
    for seed in (1, 2):
        response = client(tiny).chat.completions.create(
            model="test-model", messages=ASK, max_tokens=40, temperature=1.0, seed=seed, tool_choice="required",
            tools=[{"type": "function", "function": {"name": "f", "parameters": parameters}}],
            extra_body={"chat_template_kwargs": {"enable_thinking": False}})
        (call,) = response.choices[0].message.tool_calls
        arguments = json.loads(call.function.arguments)
        assert isinstance(arguments, dict) and set(parameters.get("required", [])) <= arguments.keys()


def test_a_tool_choice_naming_no_offered_tool_is_a_400(scripted):
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    body = bad_request(client(scripted), tools=[weather],
                       tool_choice={"type": "function", "function": {"name": "get_forecast"}})
    assert body["param"] == "tool_choice" and "get_forecast" in body["message"]
    assert bad_request(client(scripted), tool_choice="required")["param"] == "tool_choice"


# -- images ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("content, code, words", [
    ([image_part("data:image/png;base64,!!!!")], None, "not valid base64"),
    ([image_part(data_url(b"not an image at all"))], "invalid_image", "not a readable image"),
    ([image_part(data_url(b"hi", "text/plain"))], None, "data:image/<type>;base64"),
    ([image_part("file:///etc/passwd")], None, "data:image/...;base64"),
    ([image_part(data_url(png_bytes((400, 400)) + bytes(8192)))], "image_too_large", "4096 bytes"),
    ([image_part(data_url(png_bytes())), image_part(data_url(png_bytes()))], None, "at most 1 images"),
])
def test_a_bad_or_oversized_image_is_a_400_naming_the_part(scripted, content, code, words):
    body = bad_request(client(scripted), messages=[{"role": "user", "content": content}])
    assert body["param"].startswith("messages[0].content[") and body["param"].endswith("].image_url")
    assert body["code"] == code and words in body["message"]


@pytest.fixture
def local_png_server():
    """An http server on loopback that would hand out a PNG: what an SSRF attempt would reach."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            data = png_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def test_allowed_image_urls_still_go_through_the_ssrf_safe_fetch(local_png_server):
    from a3agent.model.scripted import load_scripted

    base, hits = local_png_server
    with serve_in_thread(load_scripted("weather_episode"), allow_image_urls=True) as running:
        for url in (f"{base}/cat.png", f"http://localhost:{base.rsplit(':', 1)[1]}/cat.png"):
            body = bad_request(client(running), messages=[{"role": "user", "content": [image_part(url)]}])
            assert body["param"] == "messages[0].content[0].image_url"
            assert "only public addresses may be fetched" in body["message"]
    assert hits == []


# -- numbers past what the model takes ------------------------------------------------------------


def test_a_seed_past_the_generators_range_is_a_400_not_a_500(scripted):
    for seed in (2**64, -(2**63) - 1, 10**30):
        assert bad_request(client(scripted), seed=seed, temperature=1.0)["param"] == "seed"
    greedy_edge = client(scripted).chat.completions.create(
        model="test-model", messages=ASK, max_tokens=60, temperature=1.0, seed=2**64 - 1)
    assert greedy_edge.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_a_prompt_that_leaves_no_room_in_the_context_is_a_400_naming_messages(tiny, tiny_loaded):
    words = tiny_loaded.context_length + 100
    long_ask = [{"role": "user", "content": "word " * words}]
    response = httpx.post(f"{tiny.base_url}/chat/completions", timeout=120,
                          json={"model": "test-model", "messages": long_ask})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "messages" and error["code"] == "context_length_exceeded"
    assert "Conversation()" not in error["message"]  # the agent's advice, not the API's
