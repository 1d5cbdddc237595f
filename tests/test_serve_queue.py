"""The one model behind a fair, bounded queue: a client that disconnects mid-stream stops its
generation at the next step and frees the model; past `max_waiting` a request gets 429 with
Retry-After while the queued one is still served. A model held mid-step makes both deterministic."""

import json
import socket
import threading

import httpx
import openai
import pytest

from tests.serve_support import HANG_GUARD_S, held, serve_in_thread, wait_until

LONG_THINK = "thinking about the weather " * 40 + "</think>\n\nDone."
ASK = [{"role": "user", "content": "Weather?"}]


@pytest.fixture
def long_thinker():
    from a3agent.model.scripted import load_scripted

    return load_scripted([LONG_THINK])


def client(running):
    return openai.OpenAI(base_url=running.base_url, api_key="unused", max_retries=0, timeout=HANG_GUARD_S)


def test_a_disconnect_mid_stream_stops_the_generation_within_one_step_and_frees_the_model(long_thinker):
    loaded, model = held(long_thinker, hold_at=6)
    with serve_in_thread(loaded) as running:
        stream = client(running).chat.completions.create(
            model="test-model", messages=ASK, max_tokens=200, temperature=0, stream=True)
        chunks = iter(stream)
        reasoning = [next(chunks) for _ in range(3)]  # the role chunk, then the first thinking deltas
        assert reasoning[0].choices[0].delta.role == "assistant"
        assert model.reached.wait(HANG_GUARD_S)  # the 6th step is under way
        stream.close()
        wait_until(lambda: running.server.worker.cancelled == 1, "the server to notice the disconnect")
        model.gate.set()
        wait_until(lambda: running.server.queue.admitted == 0, "the model to be given back")
        assert model.forwards == 6  # the step in flight finished; no other started
        after = client(running).chat.completions.create(model="test-model", messages=ASK, max_tokens=12,
                                                        temperature=0)
        assert after.choices[0].finish_reason == "length"
        assert after.usage.completion_tokens <= 12


def test_a_client_leaving_before_its_whole_response_stops_the_generation_at_the_next_step(long_thinker):
    loaded, model = held(long_thinker, hold_at=4)
    with serve_in_thread(loaded) as running:
        url = httpx.URL(running.base_url)
        body = json.dumps({"model": "test-model", "messages": ASK, "max_tokens": 200, "temperature": 0}).encode()
        with socket.create_connection((url.host, url.port), timeout=HANG_GUARD_S) as connection:
            connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json"
                               b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            assert model.reached.wait(HANG_GUARD_S)  # the 4th step is under way
        model.gate.set()  # the client is gone before the step ends
        wait_until(lambda: running.server.queue.admitted == 0, "the model to be given back")
        assert model.forwards == 4  # the step in flight finished; no other started


def test_a_full_queue_answers_429_with_retry_after_and_serves_those_waiting_in_order(long_thinker):
    loaded, model = held(long_thinker, hold_at=2)
    with serve_in_thread(loaded, max_waiting=1) as running:
        finished: list[tuple[str, str]] = []

        def ask(name: str) -> None:
            response = client(running).chat.completions.create(
                model="test-model", messages=ASK, max_tokens=40, temperature=0)
            finished.append((name, response.choices[0].finish_reason))

        running_request = threading.Thread(target=ask, args=("first",))
        running_request.start()
        assert model.reached.wait(HANG_GUARD_S)
        waiting_request = threading.Thread(target=ask, args=("second",))
        waiting_request.start()
        wait_until(lambda: running.server.queue.admitted == 2, "the second request to wait in line")
        with pytest.raises(openai.RateLimitError) as error:
            client(running).chat.completions.create(model="test-model", messages=ASK, max_tokens=12)
        assert int(error.value.response.headers["retry-after"]) >= 1
        assert error.value.body["code"] == "queue_full"
        model.gate.set()
        running_request.join(HANG_GUARD_S)
        waiting_request.join(HANG_GUARD_S)
        assert finished == [("first", "length"), ("second", "length")]
        assert running.server.queue.admitted == 0
