"""`Agent`: a model, its tools and options, and a conversation kept between runs.

Everything runs through one core async iterator (`AgentRun.events`): `astream` yields its events,
`arun` keeps the final result, and `stream` / `run` drive the same iterator on a private event loop
for code that is not async. The agent keeps one decode loop, so the KV cache of a run's steps and of
the previous runs is reused. One run at a time per agent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from typing import Any

from a3agent.agent.conversation import Conversation
from a3agent.agent.events import Event, FinalEvent
from a3agent.agent.options import AgentOptions, Dialect, ToolChoice, thinking_bounds
from a3agent.agent.result import RunResult
from a3agent.agent.run import AgentRun
from a3agent.errors import AgentError
from a3agent.grammars import Thinking, check_schema, compile_turn
from a3agent.grammars.dialects.turn import TurnOptions
from a3agent.model.decode import DecodeLoop
from a3agent.model.images import ImageInput
from a3agent.model.loading import LoadedModel, load_model
from a3agent.model.sampling import SamplingParams
from a3agent.tools import Approve, Tool, Toolbox

__all__ = ["Agent"]


class Agent:
    """A tool-calling agent over a loaded model; the options are documented in `agent/options.py`.

    `model` comes from `load_model` (or `load_scripted`), or is what `load_model` takes ("tiny", a
    checkpoint folder, a cached hub id). `tools` is a `Toolbox` or an iterable of tools / typed
    functions. `approve` is asked before each call of a `requires_approval` tool and must return a
    bool (anything else raises `AgentError`); without it those calls are denied and the model is told so.
    Example: `Agent("tiny", builtin_tools()).run("What is 2+3?", images=["photo.png"])`
    """

    def __init__(
        self,
        model: LoadedModel | str | os.PathLike[str],
        tools: Toolbox | Iterable[Tool | Callable[..., Any]] = (),
        *,
        system: str | None = None,
        thinking: bool | Thinking = True,
        tool_choice: ToolChoice = "auto",
        dialect: Dialect = "hermes-json",
        constrained: bool = True,
        max_steps: int = 8,
        parallel_tool_calls: bool = True,
        approve: Approve | None = None,
        max_new_tokens: int = 1024,
        token_budget: int = 8192,
        max_result_tokens: int = 4096,
        sampling: SamplingParams = SamplingParams(),
    ) -> None:
        model = model if isinstance(model, LoadedModel) else _load(model)
        self.model = model
        # rebuilt with the grammar engine's check: a schema it cannot enforce is refused here
        limits = {"max_pixels": tools.max_pixels} if isinstance(tools, Toolbox) else {}
        self.toolbox = Toolbox(list(tools), schema_check=check_schema, **limits)
        self.options = AgentOptions(
            system=system, thinking=thinking_bounds(thinking), tool_choice=tool_choice, dialect=dialect,
            constrained=constrained, max_steps=max_steps, parallel_tool_calls=parallel_tool_calls,
            max_new_tokens=max_new_tokens, token_budget=token_budget, max_result_tokens=max_result_tokens,
            sampling=sampling,
        )
        self.options.check([tool.name for tool in self.toolbox])
        if constrained:  # a schema the grammar engine refuses is reported now, not in the middle of a run
            self._compile_check()
        self.approve = approve
        self.decoder = DecodeLoop.for_model(model)
        self.conversation = Conversation()
        """Where runs go when none is passed; assign a new `Conversation()` to start over."""
        self._running = False

    def _compile_check(self) -> None:
        options = self.options
        turn = TurnOptions(options.dialect, options.tool_choice, options.parallel_tool_calls,
                           options.thinking is not None)
        compile_turn(self.toolbox.to_openai(), self.model.tokenizer, turn, options.thinking)

    async def astream(
        self, prompt: str, images: Sequence[ImageInput] = (), conversation: Conversation | None = None
    ) -> AsyncGenerator[Event, None]:
        """Run the agent on `prompt` (and `images`: PIL images, paths or bytes), yielding events.

        The run goes to `conversation`, else to `self.conversation`. A stream left unfinished ends its
        run when it is closed (`aclose`, or garbage collection).
        """
        if self._running:
            raise AgentError("this agent is already running; wait for its run to end or use a second Agent")
        self._running = True
        try:
            run = AgentRun(self.model, self.decoder, self.toolbox, self.options, self.approve,
                           conversation if conversation is not None else self.conversation)
            async for event in run.events(prompt, images):
                yield event
        finally:
            self._running = False

    async def arun(
        self, prompt: str, images: Sequence[ImageInput] = (), conversation: Conversation | None = None
    ) -> RunResult:
        """Run the agent to the end and return the result."""
        events = [event async for event in self.astream(prompt, images, conversation)]
        final = events[-1]
        assert isinstance(final, FinalEvent), "a run always ends with a FinalEvent"
        return final.result

    def stream(
        self, prompt: str, images: Sequence[ImageInput] = (), conversation: Conversation | None = None
    ) -> Iterator[Event]:
        """`astream` for code that is not async (not callable inside a running event loop)."""
        _refuse_inside_event_loop("stream")
        loop = asyncio.new_event_loop()
        events = self.astream(prompt, images, conversation)
        try:
            while True:
                try:
                    yield loop.run_until_complete(anext(events))
                except StopAsyncIteration:
                    return
        finally:
            loop.run_until_complete(events.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def run(
        self, prompt: str, images: Sequence[ImageInput] = (), conversation: Conversation | None = None
    ) -> RunResult:
        """`arun` for code that is not async (not callable inside a running event loop)."""
        _refuse_inside_event_loop("run")
        return asyncio.run(self.arun(prompt, images, conversation))


def _load(model: object) -> LoadedModel:
    if not isinstance(model, str | os.PathLike):
        raise AgentError(f"Agent takes a LoadedModel (from load_model) or what load_model takes (\"tiny\", a "
                         f"checkpoint folder, a cached hub id), not a {type(model).__name__}")
    return load_model(model)


def _refuse_inside_event_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise AgentError(f"Agent.{name} cannot run inside an event loop; await Agent.a{name}(...) instead")
