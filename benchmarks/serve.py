"""`a3agent serve` under load: latency to first token and per token, and the prefix cache's share.

    python benchmarks/serve.py                      # the tiny model on CPU, 4 clients x 3 requests
    python benchmarks/serve.py --clients 8 --requests 5 --model PATH

Starts the real app under uvicorn on 127.0.0.1 and drives it with the official `openai` client
(streaming), from `--clients` threads at once (bounded: each sends `--requests` one after the other).
The server decodes one sequence at a time, so the time to first token includes the wait in line:
that is the figure a user of a shared server sees. Then a 5-turn conversation, each turn resending
the whole history as clients do, reports the share of prompt tokens served from the KV prefix cache.
A benchmark, not a test: these machines are noisy, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import statistics
import threading
import time
from typing import Any

import openai
import uvicorn

from a3agent.model.loading import load_model
from a3agent.serve import ServeOptions, create_app

QUESTION = "Describe the weather in a few words."
OPENING = "Plan my day around the weather, briefly."
"""The conversation's first question: not QUESTION, which the load just left in the prefix cache."""
FOLLOW_UPS = ["And tomorrow?", "Should I take an umbrella?", "What about the weekend?", "Thanks, anything else?"]


def start(app: Any) -> tuple[uvicorn.Server, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


def one_request(client: openai.OpenAI, max_tokens: int) -> tuple[float, list[float]]:
    """Seconds to the first content or reasoning delta, and the gaps between later deltas."""
    started = time.perf_counter()
    stamps = []
    stream = client.chat.completions.create(model="bench", messages=[{"role": "user", "content": QUESTION}],
                                            max_tokens=max_tokens, temperature=0, stream=True)
    for chunk in stream:
        if chunk.choices and (chunk.choices[0].delta.content or chunk.choices[0].delta.model_extra):
            stamps.append(time.perf_counter())
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return stamps[0] - started, gaps


def load(url: str, clients: int, requests: int, max_tokens: int) -> tuple[list[float], list[float]]:
    first: list[float] = []
    gaps: list[float] = []
    lock = threading.Lock()

    def client_thread() -> None:
        api = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)
        for _ in range(requests):
            ttft, between = one_request(api, max_tokens)
            with lock:
                first.append(ttft)
                gaps.extend(between)

    threads = [threading.Thread(target=client_thread) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return first, gaps


def cached_share(url: str, max_tokens: int) -> list[tuple[int, int]]:
    """(prompt tokens, cached tokens) of each turn of a 5-turn conversation that resends its history."""
    api = openai.OpenAI(base_url=url, api_key="bench", max_retries=0, timeout=600)
    messages: list[dict[str, Any]] = [{"role": "user", "content": OPENING}]
    turns = []
    for follow_up in [*FOLLOW_UPS, None]:
        response = api.chat.completions.create(model="bench", messages=messages, max_tokens=max_tokens,
                                               temperature=0)
        usage = response.usage
        turns.append((usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens))
        reply = response.choices[0].message
        messages.append({"role": "assistant", "content": reply.content,
                         "reasoning_content": reply.model_extra.get("reasoning_content")})
        if follow_up is not None:
            messages.append({"role": "user", "content": follow_up})
    return turns


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=3, help="per client")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    loaded = load_model(args.model)
    server, url = start(create_app(loaded, ServeOptions(model_name="bench", max_waiting=args.clients)))
    first, gaps = load(url, args.clients, args.requests, args.max_tokens)
    print(f"{args.clients} clients x {args.requests} streamed requests, max_tokens {args.max_tokens}, "
          f"model {args.model}")
    print(f"  time to first token: p50 {statistics.median(first) * 1000:.0f} ms, "
          f"p99 {percentile(first, 0.99) * 1000:.0f} ms")
    print(f"  time per token:      p50 {statistics.median(gaps) * 1000:.1f} ms, "
          f"p99 {percentile(gaps, 0.99) * 1000:.1f} ms")
    turns = cached_share(url, args.max_tokens)
    for index, (prompt, cached) in enumerate(turns, 1):
        print(f"  turn {index}: {prompt} prompt tokens, {cached} from the prefix cache ({cached / prompt:.0%})")
    total_prompt, total_cached = sum(p for p, _ in turns), sum(c for _, c in turns)
    print(f"  5-turn conversation: {total_cached / total_prompt:.0%} of prompt tokens served from the cache")
    server.should_exit = True


if __name__ == "__main__":
    main()
