"""`a3agent serve` against input sized to make it work hard: stop strings, tool-call arguments (sent
back in the history, or streamed as the model writes them) and images. Each cost is bounded: past a
documented limit the request is a 400 naming the field, and below it the work grows linearly, on
threads that leave the event loop free."""

import asyncio
import base64
import io
import struct
import threading
import zlib
from collections.abc import Callable
from typing import Any

import openai
import pytest
from PIL import Image

from a3agent.agent.parsing import CALL_CLOSE, CALL_OPEN
from a3agent.model.decode import DecodeLoop, SpecialToken
from a3agent.model.prompt import PromptInputs
from a3agent.model.scripted import ScriptedModel
from a3agent.serve import ServeOptions
from a3agent.serve.errors import BadRequest
from a3agent.serve.images import ImageLoader
from a3agent.serve.messages import MAX_ARGUMENTS_DEPTH
from a3agent.serve.schema import MAX_STOP_CHARS
from a3agent.serve.turn_events import CallArguments, CallEnd, TurnReader
from tests.serve_support import HANG_GUARD_S, serve_in_thread

ASK = [{"role": "user", "content": "What is the weather in London?"}]
PIXEL_BUDGET = 1000


def client(running) -> openai.OpenAI:
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=HANG_GUARD_S)


def bad_request(running, **request) -> dict:
    """The error object of a request that must be a 400."""
    with pytest.raises(openai.BadRequestError) as error:
        client(running).chat.completions.create(model="test-model", **{"messages": ASK, "max_tokens": 20, **request})
    return error.value.body


def finishes(work: Callable[[], Any]) -> Any:
    """`work()`'s result; fails if it runs past the hang guard (a guard, not a timing assertion)."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(_outcome(work)), daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert done, f"hang guard: still running after {HANG_GUARD_S} s"
    if isinstance(done[0], BaseException):
        raise done[0]
    return done[0]


def _outcome(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except Exception as exc:  # raised again on the test's thread
        return exc


@pytest.fixture(scope="module")
def scripted():
    from a3agent.model.scripted import load_scripted

    with serve_in_thread(load_scripted("weather_episode"), max_request_pixels=PIXEL_BUDGET) as running:
        yield running


# -- stop strings -----------------------------------------------------------------------------------


def test_a_stop_string_past_the_length_limit_is_a_400_and_one_at_it_is_served(scripted):
    body = bad_request(scripted, stop=["x" * (MAX_STOP_CHARS + 1)])
    assert body["param"] == "stop" and str(MAX_STOP_CHARS) in body["message"]
    served = client(scripted).chat.completions.create(model="test-model", messages=ASK, max_tokens=20,
                                                       stop=["x" * MAX_STOP_CHARS])
    assert served.choices[0].finish_reason in ("stop", "length", "tool_calls")


def test_the_decode_loop_holds_back_a_possible_stop_in_linear_time_however_long_the_stop(a_series_tokenizer):
    words = "one two three four five six seven eight nine ten"
    stop = "nine ten" + "!" * 3_000_000  # testing each prefix against the text's end: ~10^12 steps a token
    chat = "<|im_start|>user\nCount<|im_end|>\n<|im_start|>assistant\n"
    prompt = PromptInputs(a_series_tokenizer.encode(chat, add_special_tokens=False))
    stream = DecodeLoop(ScriptedModel(words, a_series_tokenizer), a_series_tokenizer).stream(prompt, stop=[stop])
    deltas = finishes(lambda: list(stream))
    assert "".join(deltas) == stream.result.text == words and stream.result.finish_reason == "stop"
    assert deltas[-1] == "nine ten"  # held back until the text could no longer become the stop


# -- tool-call arguments sent back in the history -----------------------------------------------------


def history(arguments: str) -> list[dict]:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
    return [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "14 °C and cloudy"}]


def nested(depth: int) -> str:
    """An arguments object nesting `depth` levels, itself the first."""
    return '{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("arguments, words", [
    ('{"a": ' + "9" * 5000 + "}", "digits"),
    ("[" * 5000, f"deeper than {MAX_ARGUMENTS_DEPTH}"),
    (nested(900), f"deeper than {MAX_ARGUMENTS_DEPTH}"),
], ids=["long-integer", "unparseably-deep", "deep"])
def test_arguments_in_the_history_that_cannot_be_read_are_a_400_naming_them(scripted, arguments, words):
    body = bad_request(scripted, messages=history(arguments))
    assert body["param"] == "messages[1].tool_calls[0].function.arguments" and words in body["message"]


def test_arguments_in_the_history_are_served_as_deep_as_the_bound_and_refused_past_it(scripted):
    response = client(scripted).chat.completions.create(
        model="test-model", messages=history(nested(MAX_ARGUMENTS_DEPTH)), max_tokens=20)
    assert response.choices[0].finish_reason in ("stop", "length", "tool_calls")
    body = bad_request(scripted, messages=history(nested(MAX_ARGUMENTS_DEPTH + 1)))
    assert body["param"] == "messages[1].tool_calls[0].function.arguments"


# -- tool-call arguments as they stream ---------------------------------------------------------------


def streamed_arguments(deltas: list[str]) -> tuple[list[str], bool]:
    """The argument fragments a reader sends for one hermes-json call made of `deltas`, and its `ok`."""
    reader = TurnReader(False, "hermes-json", {"f": {"type": "object"}})
    events = [event for delta in [SpecialToken(CALL_OPEN), *deltas, SpecialToken(CALL_CLOSE)]
              for event in reader.feed(delta)]
    ends = [event.ok for event in events if isinstance(event, CallEnd)]
    return [event.text for event in events if isinstance(event, CallArguments)], ends == [True]


def test_streaming_arguments_with_a_long_run_of_whitespace_takes_linear_time():
    value = " " * 20_000 + "x" + " y" * 200
    deltas = ['\n{"name": "f", "arguments": {"a": "', *" " * 20_000, "x", *[" y"] * 200, '"}}', "\n"]
    fragments, ok = finishes(lambda: streamed_arguments(deltas))  # a regex over the whole text: ~10^11 steps
    assert ok and "".join(fragments) == '{"a": "' + value + '"}'


def test_streamed_arguments_join_to_exactly_the_whole_responses_arguments():
    block = '\n{"name": "f", "arguments":  {"a": "} x" }  }\n'
    fragments, ok = streamed_arguments(list(block))
    assert ok and "".join(fragments) == '{"a": "} x" }'


# -- images -----------------------------------------------------------------------------------------


def data_url(data: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(data).decode()}"


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds one byte of pixel data: decoding it fails, reading its
    header does not."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def images(*datas: bytes) -> list[dict]:
    parts = [{"type": "image_url", "image_url": {"url": data_url(data)}} for data in datas]
    return [{"role": "user", "content": [{"type": "text", "text": "Look."}, *parts]}]


def test_images_past_the_requests_pixel_budget_are_refused_from_the_header(scripted):
    served = client(scripted).chat.completions.create(model="test-model", messages=images(png((32, 24))),
                                                       max_tokens=20)
    assert served.choices[0].finish_reason in ("stop", "length", "tool_calls")
    body = bad_request(scripted, messages=images(png((32, 24)), png_header(100, 100)))
    assert body["param"] == "messages[0].content[2].image_url" and body["code"] == "image_too_large"
    assert f"{PIXEL_BUDGET} pixels" in body["message"]  # not "not a readable image": it was never decoded


def test_a_fetched_image_is_fetched_and_decoded_off_the_event_loop_and_counted(monkeypatch):
    loader = ImageLoader(ServeOptions(model_name="m", allow_image_urls=True, max_request_pixels=PIXEL_BUDGET))
    fetched_on: list[int] = []

    async def fetch(url: str) -> Image.Image:
        fetched_on.append(threading.get_ident())
        return Image.new("RGB", (20, 10))

    monkeypatch.setattr(loader, "_fetch", fetch)

    async def load(pixels_left: int) -> Image.Image:
        return await loader.load("https://example.com/cat.png", "p", pixels_left)

    assert asyncio.run(load(200)).size == (20, 10)
    assert fetched_on and fetched_on[0] != threading.get_ident()
    with pytest.raises(BadRequest, match=f"{PIXEL_BUDGET} pixels"):
        asyncio.run(load(199))
