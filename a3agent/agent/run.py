"""The core of the agent: one async iterator that runs a conversation turn by turn and yields events.

A step renders the conversation (`to_chat` -> the model room's `encode_prompt`), decodes one turn
with the decode loop (which reuses the KV cache of everything the previous step already ran, so
only the new tokens are forwarded), parses it, runs the calls and appends their results. `Agent.run`,
`arun`, `stream` and `astream` are all built on `AgentRun.events`.

A run that does not reach its `FinalEvent` (a stream broken out of, a cancelled task, an error) takes
its messages back out of the conversation, so the next run never sees a user turn without its answer;
images it stored keep their ids (ids are never reused).

Not handled here: options (`options.py`), budgets and the context (`context.py`), the calls themselves
(`calls.py`), parsing (`parsing.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing

from a3agent.agent.calls import calls_off_refusal, invoke_all, refusal, validates
from a3agent.agent.context import cap_text, step_budget, step_thinking
from a3agent.agent.conversation import Conversation
from a3agent.agent.events import (
    Event,
    FinalEvent,
    StepEnd,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
    ToolResultEvent,
)
from a3agent.agent.guards import RepeatGuard, TokenBudget
from a3agent.agent.image_ids import offered_tools
from a3agent.agent.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolMessage,
    ToolResultPart,
    UserMessage,
    to_chat,
)
from a3agent.agent.options import AgentOptions
from a3agent.agent.parsing import ParsedTurn, parse_turn
from a3agent.agent.result import RunResult, Step, StopReason, total_counters
from a3agent.agent.streaming import TurnSplitter
from a3agent.errors import AgentError
from a3agent.grammars import compile_turn
from a3agent.grammars.dialects.turn import TurnOptions
from a3agent.model.decode import DecodeLoop, DecodeResult, DecodeStream
from a3agent.model.images import ImageInput, load_image
from a3agent.model.loading import LoadedModel
from a3agent.model.template import encode_prompt
from a3agent.tools import Approve, Toolbox

__all__ = ["AgentRun"]


class AgentRun:
    """One run: a user prompt in, events out, the conversation extended in place."""

    def __init__(
        self,
        model: LoadedModel,
        decoder: DecodeLoop,
        toolbox: Toolbox,
        options: AgentOptions,
        approve: Approve | None,
        conversation: Conversation,
    ) -> None:
        self.model, self.decoder, self.toolbox = model, decoder, toolbox
        self.options, self.approve, self.conversation = options, approve, conversation
        self.repeats = RepeatGuard()
        self.budget = TokenBudget(options.token_budget)
        self.steps: list[Step] = []

    async def events(self, prompt: str, images: Sequence[ImageInput] = ()) -> AsyncGenerator[Event, None]:
        """Add the user's turn, then step until the model answers or a guard stops the run."""
        start = len(self.conversation.messages)
        finished = False
        try:
            self._add_user_turn(prompt, images)
            for index in range(1, self.options.max_steps + 1):
                async with aclosing(self._step(index)) as step_events:
                    async for event in step_events:
                        yield event
                stop = self._stop_reason(index)
                if stop is not None:
                    finished = True
                    yield FinalEvent(result=self._result(stop))
                    return
        finally:
            if not finished:
                del self.conversation.messages[start:]

    def _add_user_turn(self, prompt: str, images: Sequence[ImageInput]) -> None:
        loaded = [load_image(source) for source in images]  # an unreadable image changes nothing
        if not self.conversation.messages and self.options.system is not None:
            self.conversation.append(SystemMessage(text=self.options.system))
        parts: list[TextPart | ImagePart] = []
        for image in loaded:
            image_id = self.conversation.images.add(image)
            parts += [TextPart(text=f"Image {image_id} ({image.width}x{image.height} px):"),
                      ImagePart(image_id=image_id)]
        self.conversation.append(UserMessage(parts=[*parts, TextPart(text=prompt)]))

    def _stop_reason(self, index: int) -> StopReason | None:
        answered = not self.steps[-1].results
        if index == self.options.max_steps:
            tools_on = len(self.toolbox) > 0 and self.options.tool_choice != "none"
            return "answer" if answered and not tools_on else "max_steps"
        if answered:
            return "answer"
        return "token_budget" if self.budget.spent else None

    async def _step(self, index: int) -> AsyncGenerator[Event, None]:
        started = time.perf_counter()
        choice = self.options.step_choice(index)
        stream = self._start_decode(choice)
        splitter = TurnSplitter(self.options.thinking is not None)
        async with aclosing(_deltas(stream)) as deltas:
            async for delta in deltas:
                for event in _delta_events(index, splitter.feed(delta)):
                    yield event
        decoded = stream.result
        assert decoded is not None, "an exhausted decode stream has its result"
        self.budget.spend(decoded.counters.generated)
        turn = parse_turn(
            decoded.pieces,
            dialect=self.options.dialect,
            thinking=self.options.thinking is not None,
            tools={t.name: t.definition.parameters for t in self.toolbox},
            next_id=self.conversation.next_call_id,
        )
        self.conversation.append(_assistant_message(turn, decoded, self.options.thinking is not None))
        results: list[ToolResultPart] = []
        async for event in self._answer_calls(index, turn, may_call=choice != "none"):
            if isinstance(event, ToolResultEvent):
                results.append(event.result)
            yield event
        if results:
            self.conversation.append(ToolMessage(results=results))
        step = Step(index=index, thinking=turn.thinking, text=turn.text, calls=turn.well_formed_calls,
                    results=results, finish_reason=decoded.finish_reason, counters=decoded.counters,
                    wall_s=time.perf_counter() - started)
        self.steps.append(step)
        yield StepEnd(step=step)

    def _start_decode(self, choice: str) -> DecodeStream:
        chat, images = to_chat(self.conversation.messages, self.conversation.images)
        thinking = self.options.thinking is not None
        tools = self.toolbox.to_openai()
        prompt = encode_prompt(self.model, chat, images, tools or None, thinking=thinking)
        wanted = min(self.options.max_new_tokens, self.budget.remaining)
        budget = step_budget(wanted, len(prompt.input_ids), self.model.context_length)
        constraint = None
        if self.options.constrained:
            offered = offered_tools(tools, self.conversation.images.ids())
            _check_offered(choice, offered)
            turn = TurnOptions(self.options.dialect, choice, self.options.parallel_tool_calls, thinking)
            bounds = step_thinking(self.options.thinking, budget) if self.options.thinking is not None else None
            constraint = compile_turn(offered, self.model.tokenizer, turn, bounds).matcher()
        return self.decoder.stream(prompt, max_new_tokens=budget, sampling=self.options.sampling,
                                   constraint=constraint)

    async def _answer_calls(self, index: int, turn: ParsedTurn, may_call: bool) -> AsyncGenerator[Event, None]:
        """Call events for the calls that will run, then every result in call order."""
        if may_call:
            answers = [refusal(item, self.repeats) for item in turn.calls]
        else:
            answers = [calls_off_refusal(item) for item in turn.calls]
        runnable = [item for item, answer in zip(turn.calls, answers)
                    if answer is None and isinstance(item, ToolCallPart)]  # refusal() answers every MalformedCall
        for call in runnable:
            if validates(self.toolbox, call):
                yield ToolCallEvent(step=index, call=call)
        ran = iter(await invoke_all(self.toolbox, runnable, self.conversation.tool_context(),
                                    self.approve, self.options.parallel_tool_calls))
        for answer in answers:
            result = answer if answer is not None else self._capped(next(ran))
            yield ToolResultEvent(step=index, result=result)

    def _capped(self, result: ToolResultPart) -> ToolResultPart:
        """The result with each text part cut to `max_result_tokens` (a note says so)."""
        limit = self.options.max_result_tokens
        parts = [TextPart(text=cap_text(self.model.tokenizer, p.text, limit)) if isinstance(p, TextPart) else p
                 for p in result.parts]
        return result.model_copy(update={"parts": parts})

    def _result(self, stop: StopReason) -> RunResult:
        last = self.steps[-1]
        return RunResult(text=last.text, thinking=last.thinking, steps=self.steps, stop_reason=stop,
                         finish_reason=last.finish_reason, counters=total_counters(self.steps))


async def _deltas(stream: DecodeStream) -> AsyncGenerator[str, None]:
    """The decode loop's text deltas, each computed in a worker thread so the event loop stays free."""
    while (delta := await asyncio.to_thread(next, stream, None)) is not None:
        yield delta


def _delta_events(index: int, pieces: Sequence[tuple[str, str]]) -> list[Event]:
    return [ThinkingDelta(step=index, text=text) if channel == "thinking" else TextDelta(step=index, text=text)
            for channel, text in pieces]


def _assistant_message(turn: ParsedTurn, decoded: DecodeResult, think_opened: bool) -> AssistantMessage:
    parts: list[ThinkingPart | TextPart | ToolCallPart] = [ThinkingPart(text=turn.thinking)] if turn.thinking else []
    parts += [TextPart(text=turn.text)] if turn.text else []
    parts += turn.well_formed_calls
    return AssistantMessage(parts=parts, raw=decoded.text, token_ids=decoded.content_ids, think_opened=think_opened)


def _check_offered(choice: str, offered: list[dict]) -> None:
    """A tool_choice the grammar cannot honour because its tool needs an image id and none is held."""
    names = {tool["function"]["name"] for tool in offered}
    named = choice not in ("auto", "none", "required")
    if (named and choice not in names) or (choice == "required" and not names):
        raise AgentError(f"tool_choice {choice!r} needs a tool that takes an image id, and the conversation "
                         "holds no image yet: pass images=[...] with the prompt, or choose another tool_choice")
