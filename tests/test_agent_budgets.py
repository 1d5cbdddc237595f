"""Honest budgets: the think block leaves room for an answer, `finish_reason` says when a budget ended
the text, steps fit the model's context, and tool results are capped by tokens with a visible note."""

import dataclasses

import pytest

from a3agent.agent.agent import Agent
from a3agent.errors import ContextOverflow
from a3agent.model.scripted import load_scripted
from a3agent.tools import tool
from test_agent_loop import ANSWER, THINK, call

LONG_THOUGHT = "I wonder which fruit it is and keep thinking about it. " * 30


def test_a_default_agent_on_the_tiny_model_answers_or_says_the_budget_ended_it(tiny_loaded):
    result = Agent(tiny_loaded, max_new_tokens=64).run("What is 17 * 23?")
    (step,) = result.steps
    assert step.counters.generated <= 64
    assert result.finish_reason == step.finish_reason
    assert result.finish_reason == "length" or len(result.text) > 1, (result.finish_reason, result.text)


def test_the_think_block_leaves_a_quarter_of_the_step_for_the_answer(a_series_tokenizer):
    agent = Agent(load_scripted([LONG_THOUGHT + "</think>\n\nApricots."], a_series_tokenizer), max_new_tokens=40)
    result = agent.run("What fruit?")
    thought = len(a_series_tokenizer.encode(result.thinking, add_special_tokens=False))
    assert thought <= 30 and result.text, (thought, result.text)
    assert result.finish_reason == "length"  # the script's answer never got to end the turn itself


def test_a_turn_that_ends_itself_within_its_budget_finishes_with_stop(a_series_tokenizer):
    agent = Agent(load_scripted([ANSWER], a_series_tokenizer), max_new_tokens=200)
    result = agent.run("What fruit?")
    assert (result.text, result.finish_reason) == ("Those are apricots.", "stop")


def test_a_step_budget_is_cut_to_the_room_the_context_leaves(a_series_tokenizer):
    loaded = load_scripted([LONG_THOUGHT], a_series_tokenizer)
    probe = Agent(loaded, constrained=False)
    prompt_tokens = probe.run("What fruit?").counters.prompt
    agent = Agent(dataclasses.replace(loaded, context_length=prompt_tokens + 40), constrained=False)
    result = agent.run("What fruit?")
    assert result.counters.generated == 40 and result.finish_reason == "length"


def test_a_conversation_that_outgrows_the_context_raises_and_leaves_the_conversation_as_it_was(a_series_tokenizer):
    loaded = load_scripted([ANSWER], a_series_tokenizer)
    agent = Agent(dataclasses.replace(loaded, context_length=60))
    with pytest.raises(ContextOverflow, match="Start a new Conversation"):
        agent.run("What fruit? " * 20)
    assert agent.conversation.messages == []


@tool
def dump(query: str) -> str:
    """Return a very large text.

    Args:
        query: Anything.
    """
    return "lorem ipsum dolor " * 500_000


def test_a_huge_tool_result_is_cut_by_tokens_with_a_note_the_model_sees(a_series_tokenizer):
    agent = Agent(load_scripted([THINK + call("dump", query="x"), ANSWER], a_series_tokenizer), [dump],
                  max_result_tokens=50)
    prompts = []
    stream = agent.decoder.stream
    agent.decoder.stream = lambda prompt, **kw: prompts.append(prompt) or stream(prompt, **kw)
    result = agent.run("Dump it.")
    text = result.results[0].parts[0].text
    body, note = text.rsplit("\n", 1)
    assert len(a_series_tokenizer.encode(body, add_special_tokens=False)) <= 50
    assert note == "[truncated: the result was 9,000,000 characters; only its first 50 tokens are shown]"
    assert note in a_series_tokenizer.decode(prompts[1].input_ids)
    assert len(prompts[1].input_ids) - len(prompts[0].input_ids) < 200
