import numpy as np
import pytest

from a3agent.model.decode import DecodeLoop
from a3agent.model.prompt import PromptInputs
from a3agent.model.scripted import SCRIPT_NAMES, ScriptedModel, load_meant_calls, load_script, load_scripted
from a3agent.model.template import encode_prompt

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
QUESTION = [{"role": "user", "content": "What's the weather in London?"}]


class BannedAtFirst:
    """A Constraint that bans some tokens for the first `steps` tokens, then allows everything."""

    def __init__(self, banned: list[int], steps: int, vocab_size: int, eos: int) -> None:
        self.banned, self.steps, self.vocab_size, self.eos, self.seen = banned, steps, vocab_size, eos, 0

    def mask(self) -> np.ndarray:
        mask = np.ones(self.vocab_size, dtype=bool)
        if self.seen < self.steps:
            mask[self.banned] = False
        return mask

    def advance(self, token_id: int) -> bool:
        if not self.mask()[token_id]:
            return False
        self.seen += 1
        return True

    def forced(self) -> list[int]:
        return []

    def completion(self) -> list[int]:
        return [self.eos]

    def accepting(self) -> bool:
        return self.seen >= self.steps

    def rollback(self, n: int) -> None:
        self.seen -= n


@pytest.fixture(scope="module")
def scripted(a_series_tokenizer):
    return lambda script: load_scripted(script, a_series_tokenizer)


def generate(loaded, messages=QUESTION, **options):
    prompt = encode_prompt(loaded, messages, tools=[WEATHER_TOOL])
    return DecodeLoop.for_model(loaded).run(prompt, **options)


def test_every_shipped_script_loads():
    assert all(load_script(name) for name in SCRIPT_NAMES)
    assert len(load_script("weather_episode")) == 2
    with pytest.raises(ValueError, match="unknown script"):
        load_script("nope")


def test_unconstrained_it_drafts_the_api_call_instead_of_a_tool_call_block(scripted):
    result = generate(scripted("drafted_call"))
    assert result.text == load_script("drafted_call")[0]
    assert "GET https://api.openweathermap.org/data/2.5/weather?q=London" in result.text
    assert "<tool_call>" not in result.text and result.finish_reason == "stop"


def test_unconstrained_it_closes_the_think_block_at_once(scripted):
    result = generate(scripted("empty_think"))
    assert result.text.startswith("</think>")  # the prompt ended in "<think>\n": an empty think block
    assert result.token_ids[0] == 15


def test_it_is_deterministic(scripted):
    loaded = scripted("drafted_call")
    assert generate(loaded).token_ids == generate(loaded).token_ids


def test_masked_script_tokens_give_way_to_the_scripts_own_text(scripted, a_series_tokenizer):
    loaded = scripted("empty_think")
    close_think, eos = 15, a_series_tokenizer.eos_token_id
    constraint = BannedAtFirst([close_think, eos], 6, len(a_series_tokenizer), eos)
    result = generate(loaded, constraint=constraint)
    think, _, answer = result.text.partition("</think>")
    assert len(a_series_tokenizer.encode(think, add_special_tokens=False)) == 6
    assert think.split()[0] == "London"  # the answer's words fill the think block
    assert answer == load_script("empty_think")[0].removeprefix("</think>")


def test_the_fallback_never_repeats_a_token_back_to_back(scripted, a_series_tokenizer):
    loaded = scripted("empty_think")
    script_tokens = a_series_tokenizer.encode(load_script("empty_think")[0], add_special_tokens=False)
    eos = a_series_tokenizer.eos_token_id
    constraint = BannedAtFirst(script_tokens + [eos], 30, len(a_series_tokenizer), eos)
    tokens = generate(loaded, constraint=constraint, max_new_tokens=40).token_ids[:30]
    assert all(a != b for a, b in zip(tokens, tokens[1:]))
    assert not set(tokens) & set(script_tokens)


def test_a_multi_turn_script_calls_a_tool_then_answers_reusing_the_cache(scripted):
    loaded = scripted("weather_episode")
    loop = DecodeLoop.for_model(loaded)
    first_prompt = encode_prompt(loaded, QUESTION, tools=[WEATHER_TOOL])
    first = loop.run(first_prompt)
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "London"}}\n</tool_call>' in first.text
    messages = [
        *QUESTION,
        {"role": "assistant", "content": "", "raw": first.text},
        {"role": "tool", "name": "get_weather", "content": '{"temp_c": 14, "sky": "cloudy"}'},
    ]
    second = loop.run(encode_prompt(loaded, messages, tools=[WEATHER_TOOL]))
    assert second.text.endswith("It's 14 °C and cloudy in London right now.")
    assert second.counters.reused == len(first_prompt.input_ids) + len(first.token_ids) - 1


def test_turns_past_the_last_script_repeat_it(a_series_tokenizer):
    model = ScriptedModel(["first", "second"], a_series_tokenizer)
    turns = "".join(f"<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n{t}<|im_end|>\n" for t in "ab")
    ids = a_series_tokenizer.encode(turns + "<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n<think>\n")
    assert DecodeLoop(model, a_series_tokenizer).run(PromptInputs(ids)).text == "second"


def test_loops_sharing_one_scripted_model_keep_their_own_state(scripted):
    loaded = scripted("weather_episode")
    one, two = DecodeLoop.for_model(loaded), DecodeLoop.for_model(loaded)
    prompt = encode_prompt(loaded, QUESTION, tools=[WEATHER_TOOL])
    first = one.run(prompt)
    two.run(encode_prompt(loaded, [{"role": "user", "content": "Hi"}]))
    again = one.run(prompt)
    assert again.text == first.text and again.counters.reused == len(prompt.input_ids) - 1


def test_the_drafted_call_script_means_a_real_call():
    assert load_meant_calls("drafted_call")[0].splitlines()[1] == (
        '{"name": "get_weather", "arguments": {"city": "London"}}')
    assert "=== meant call ===" not in load_script("drafted_call")[0]


def test_where_a_grammar_leaves_only_a_call_it_writes_the_call_it_means(scripted):
    from a3agent.agent.agent import Agent
    from a3agent.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """The weather.

        Args:
            city: The city.
        """
        return f"14 °C in {city}"

    agent = Agent(scripted("drafted_call"), [get_weather], tool_choice="get_weather", max_steps=2)
    first = agent.run("What's the weather in London?").steps[0]
    assert [(call.name, call.arguments) for call in first.calls] == [("get_weather", {"city": "London"})]
