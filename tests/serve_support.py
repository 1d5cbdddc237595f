"""Helpers for the serve tests: the real app under uvicorn in a thread on 127.0.0.1, a model that
can be held mid-step, and a hang guard for waiting on the server."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from a3agent.model.loading import LoadedModel
from a3agent.serve import ServeOptions, create_app
from a3agent.serve.app import Server

HANG_GUARD_S = 120.0
"""Waits fail past this: a guard against hangs, not a timing assertion."""


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        assert time.monotonic() < deadline, f"hang guard: still waiting for {what}"
        time.sleep(0.01)


@dataclasses.dataclass
class Running:
    base_url: str
    server: Server
    """The app's shared state: its queue and worker, for tests that watch them."""


@contextmanager
def serve_in_thread(loaded: LoadedModel, **options: Any) -> Iterator[Running]:
    """The app serving `loaded` (as model "test-model" unless named) on a free loopback port."""
    app = create_app(loaded, ServeOptions(**{"model_name": "test-model", **options}))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, "uvicorn to start")
        yield Running(f"http://127.0.0.1:{port}/v1", app.state.server)
    finally:
        server.should_exit = True
        thread.join(HANG_GUARD_S)
        sock.close()


class HeldModel:
    """A `StepModel` around another that holds its `hold_at`-th forward pass until `gate` is set."""

    def __init__(self, inner: Any, hold_at: int) -> None:
        self.inner, self.hold_at = inner, hold_at
        self.forwards = 0
        self.reached = threading.Event()
        """Set when the held forward pass has begun."""
        self.gate = threading.Event()

    def new_cache(self) -> Any:
        return self.inner.new_cache()

    def crop(self, cache: Any, length: int) -> None:
        self.inner.crop(cache, length)

    def forward(self, cache: Any, input_ids: Any, images: Any) -> Any:
        self.forwards += 1
        if self.forwards == self.hold_at:
            self.reached.set()
            assert self.gate.wait(HANG_GUARD_S), "hang guard: the held step was never released"
        return self.inner.forward(cache, input_ids, images)


def held(loaded: LoadedModel, hold_at: int) -> tuple[LoadedModel, HeldModel]:
    """`loaded` with its model wrapped in a `HeldModel`."""
    model = HeldModel(loaded.model, hold_at)
    return dataclasses.replace(loaded, model=model), model
