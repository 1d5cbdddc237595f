"""Streams end cleanly: breaking out leaves no pending task and no half run in the conversation; the
approve callback is held to a bool."""

import gc

import pytest
from PIL import Image

from a3agent.agent.agent import Agent
from a3agent.agent.events import ThinkingDelta
from a3agent.agent.messages import AssistantMessage, UserMessage
from a3agent.errors import AgentError
from a3agent.model.scripted import load_scripted
from a3agent.tools import tool
from test_agent_loop import ANSWER, THINK, call


@tool(requires_approval=True)
def delete_photo(image: str) -> str:
    """Delete a photo.

    Args:
        image: Its id.
    """
    return f"{image} deleted"


def test_breaking_out_of_a_stream_leaves_no_pending_task_and_no_dangling_user_message(a_series_tokenizer, capfd):
    agent = Agent(load_scripted([ANSWER], a_series_tokenizer))
    for event in agent.stream("First question?"):
        if isinstance(event, ThinkingDelta):
            break
    gc.collect()
    assert "Task was destroyed" not in capfd.readouterr().err
    assert agent.conversation.messages == []
    result = agent.run("Second question?")
    assert [type(m) for m in agent.conversation.messages] == [UserMessage, AssistantMessage]
    assert result.text == "Those are apricots."


@pytest.mark.parametrize("answer", ["no", 1, None])
def test_an_approve_callback_that_does_not_answer_with_a_bool_is_an_error(a_series_tokenizer, answer):
    turns = [THINK + call("delete_photo", image="img_0"), ANSWER]
    agent = Agent(load_scripted(turns, a_series_tokenizer), [delete_photo], approve=lambda c: answer)
    with pytest.raises(AgentError, match="must return True"):
        agent.run("Delete it.", images=[Image.new("RGB", (32, 32))])
    assert agent.conversation.messages == []
