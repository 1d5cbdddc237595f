"""Tool calls keep their deadline whatever the tool does: async tools that block the thread or swallow
their cancellation are abandoned at the timeout, the model sees a timeout error and the run goes on;
abandoned calls that never end are bounded in number."""

import asyncio
import json
import threading
import time

import pytest

from a3agent.agent.agent import Agent
from a3agent.model.scripted import load_scripted
from a3agent.tools import Tool, Toolbox, ToolCall, execution


def invoke_guarded(box: Toolbox, name: str, **arguments):
    """`invoke` on an event loop in a thread of its own, so a call that blocks the loop fails the test
    instead of hanging it (a hang guard, not a benchmark)."""
    outcome = []
    thread = threading.Thread(
        target=lambda: outcome.append(asyncio.run(box.invoke(ToolCall(name, arguments)))), daemon=True)
    thread.start()
    thread.join(20)
    assert outcome, "invoke did not return within 20 s"
    return outcome[0]


def wait_until(condition) -> bool:
    """Polls `condition` for up to 10 s (a hang guard)."""
    for _ in range(1000):
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def release():
    """Set at the end of the test, so the tools it abandoned end and leave no thread behind."""
    event = threading.Event()
    yield event
    event.set()


def blocking_tool(release: threading.Event) -> Tool:
    async def blocks() -> str:
        """Blocks its thread inside a coroutine, as `time.sleep` would."""
        release.wait(60)
        return "too late"

    return Tool.from_function(blocks, timeout=0.2)


def stubborn_tool(release: threading.Event, cancels: list[int] | None = None) -> Tool:
    async def stubborn() -> str:
        """Swallows every cancellation until released."""
        while not release.is_set():
            try:
                await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                if cancels is not None:
                    cancels.append(1)
        return "too late"

    return Tool.from_function(stubborn, timeout=0.2)


def test_an_async_tool_that_blocks_its_thread_times_out(release):
    result = invoke_guarded(Toolbox([blocking_tool(release)]), "blocks")
    assert result.is_error and "'blocks' did not finish within 0.2 s and was abandoned" in result.text


def test_an_async_tool_that_swallows_its_cancellation_times_out_and_is_sent_the_cancel(release):
    cancels: list[int] = []
    result = invoke_guarded(Toolbox([stubborn_tool(release, cancels)]), "stubborn")
    assert result.is_error and "'stubborn' did not finish within 0.2 s" in result.text
    assert wait_until(lambda: cancels)  # the cancel is sent, not waited for


def test_cancelling_the_caller_cancels_a_running_async_tool():
    started, cancelled = threading.Event(), threading.Event()

    async def waits() -> str:
        """Waits to be cancelled."""
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "too late"

    box = Toolbox([Tool.from_function(waits, timeout=None)])

    async def main():
        task = asyncio.create_task(box.invoke(ToolCall("waits", {})))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cancelled.wait(10)


def test_async_tools_run_on_an_event_loop_of_their_own():
    async def where() -> str:
        """The thread it runs in."""
        asyncio.get_running_loop()
        return threading.current_thread().name

    assert invoke_guarded(Toolbox([Tool.from_function(where)]), "where").text == "tool-where"


def test_abandoned_calls_still_running_are_bounded_and_free_their_slot_when_they_end(release, monkeypatch):
    assert wait_until(lambda: execution._abandoned_running == 0)  # calls abandoned by other tests ended
    monkeypatch.setattr(execution, "MAX_ABANDONED", 2)
    box = Toolbox([blocking_tool(release), Tool.from_function(lambda: "fine", name="fine")])
    for _ in range(2):
        assert "did not finish within" in invoke_guarded(box, "blocks").text
    refused = invoke_guarded(box, "fine")
    assert refused.is_error and "2 earlier tool calls timed out and are still running" in refused.text
    release.set()
    assert wait_until(lambda: execution._abandoned_running == 0)
    assert invoke_guarded(box, "fine").text == "fine"


THINK = "The user asks for a lookup; the tool will tell.\n</think>\n\n"
ANSWER = "The lookup did not answer in time.\n</think>\n\nI could not look it up."


def test_the_model_sees_the_timeout_and_the_run_goes_on(a_series_tokenizer, release):
    call = f"<tool_call>\n{json.dumps({'name': 'stubborn', 'arguments': {}})}\n</tool_call>"
    agent = Agent(load_scripted([THINK + call, ANSWER], a_series_tokenizer), [stubborn_tool(release)])
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(agent.run("Look it up.")), daemon=True)
    thread.start()
    thread.join(60)  # hang guard
    (result,) = outcome
    (error,) = result.results
    assert error.is_error and "did not finish within 0.2 s" in error.parts[0].text
    assert result.stop_reason == "answer" and result.text == "I could not look it up."
