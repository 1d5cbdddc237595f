from collections.abc import Sequence

import numpy as np
import pytest
import torch
from PIL import Image

from a3agent.errors import ConstraintError, ImagesNotSupported
from a3agent.model.decode import DecodeLoop, SpecialToken, TransformersStepModel
from a3agent.model.prompt import ImageSpan, PromptInputs
from a3agent.model.sampling import SamplingParams
from a3agent.model.scripted import ScriptedModel
from a3agent.model.template import encode_prompt
from a3agent.model.tokenizer import encode_untrusted

CHAT = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n<think>\n"


def image(seed: int = 0, size: int = 64) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def image_prompt(loaded, seed: int = 0) -> PromptInputs:
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]}]
    return encode_prompt(loaded, messages, [image(seed)])


def chat_ids(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


class Recording:
    """A StepModel wrapper that records each forward's ids."""

    def __init__(self, inner) -> None:
        self.inner, self.chunks = inner, []

    def new_cache(self):
        return self.inner.new_cache()

    def crop(self, cache, length: int) -> None:
        self.inner.crop(cache, length)

    def forward(self, cache, input_ids: Sequence[int], images: Sequence[ImageSpan]) -> torch.Tensor:
        self.chunks.append(list(input_ids))
        return self.inner.forward(cache, input_ids, images)


class TokenAutomaton:
    """A hand-written Constraint: a DFA over token ids, `transitions[state][token] -> state`.

    The state "end" is reached by the stop token. forced() follows single-choice states; completion()
    is the shortest path to "end" (breadth first).
    """

    def __init__(self, transitions: dict, vocab_size: int) -> None:
        self.transitions, self.vocab_size, self.states = transitions, vocab_size, [0]

    def mask(self) -> np.ndarray:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[list(self.transitions[self.states[-1]])] = True
        return mask

    def advance(self, token_id: int) -> bool:
        following = self.transitions.get(self.states[-1], {}).get(token_id)
        if following is None:
            return False
        self.states.append(following)
        return True

    def forced(self) -> list[int]:
        tokens, state = [], self.states[-1]
        while state != "end" and len(self.transitions[state]) == 1:
            (token, state), = self.transitions[state].items()
            tokens.append(token)
        return tokens

    def completion(self) -> list[int]:
        paths, seen = [(self.states[-1], [])], set()
        while paths:
            state, path = paths.pop(0)
            if state == "end":
                return path
            seen.add(state)
            paths += [(nxt, path + [tok]) for tok, nxt in self.transitions[state].items() if nxt not in seen]
        raise AssertionError("no completion")

    def accepting(self) -> bool:
        return "end" in self.transitions[self.states[-1]].values()

    def rollback(self, n: int) -> None:
        del self.states[len(self.states) - n :]


@pytest.fixture(scope="module")
def scripted_words(a_series_tokenizer):
    return ScriptedModel("one two three four five six seven eight nine ten", a_series_tokenizer)


# -- the tiny A3-shaped model ------------------------------------------------------------------


def test_a_twenty_token_generation_with_an_image_runs(tiny_loaded):
    prompt = image_prompt(tiny_loaded)
    assert prompt.images and prompt.images[0].length > 0
    result = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=()).run(prompt, max_new_tokens=20)
    assert result.finish_reason == "length"
    assert len(result.token_ids) == result.counters.generated == 20
    assert result.counters.prompt == result.counters.forwarded == len(prompt.input_ids)


def test_greedy_tokens_match_the_models_own_uncached_forward(tiny_loaded):
    prompt = image_prompt(tiny_loaded)
    result = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=()).run(prompt, max_new_tokens=6)
    span = prompt.images[0]
    ids = list(prompt.input_ids)
    with torch.no_grad():
        for _ in range(6):
            logits = tiny_loaded.model(
                input_ids=torch.tensor([ids]), pixel_values=span.pixel_values, image_grid_thw=span.image_grid_thw
            ).logits
            ids.append(int(logits[0, -1].argmax()))
    assert result.token_ids == ids[len(prompt.input_ids) :]


def test_the_image_changes_the_output(tiny_loaded):
    loop = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=())
    first = loop.run(image_prompt(tiny_loaded, seed=0), max_new_tokens=8)
    second = loop.run(image_prompt(tiny_loaded, seed=1), max_new_tokens=8)
    assert first.token_ids != second.token_ids


def test_image_features_are_computed_once_and_a_changed_image_is_recomputed(tiny_loaded, monkeypatch):
    calls = []
    original = tiny_loaded.model.get_image_features
    monkeypatch.setattr(
        tiny_loaded.model, "get_image_features", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    loop = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=())
    prompt = image_prompt(tiny_loaded)
    loop.run(prompt, max_new_tokens=10)
    assert len(calls) == 1
    longer = PromptInputs(prompt.input_ids + chat_ids(tiny_loaded.tokenizer, " more"), prompt.images)
    assert loop.run(longer, max_new_tokens=3).counters.reused == len(prompt.input_ids)
    assert len(calls) == 1
    changed = image_prompt(tiny_loaded, seed=5)
    assert changed.input_ids == prompt.input_ids  # same ids, different pixels
    assert loop.run(changed, max_new_tokens=3).counters.reused == changed.images[0].start
    assert len(calls) == 2


def test_the_same_seed_gives_the_same_output(tiny_loaded):
    prompt = image_prompt(tiny_loaded)
    sampling = SamplingParams(temperature=1.0, top_p=0.95, top_k=1000, seed=11)
    runs = [
        DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=()).run(prompt, max_new_tokens=12, sampling=sampling)
        for _ in range(2)
    ]
    other = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=()).run(
        prompt, max_new_tokens=12, sampling=SamplingParams(temperature=1.0, seed=12)
    )
    assert runs[0].token_ids == runs[1].token_ids
    assert other.token_ids != runs[0].token_ids


def test_streamed_deltas_concatenate_to_the_text_of_random_tokens(tiny_loaded):
    loop = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=())
    stream = loop.stream(image_prompt(tiny_loaded), max_new_tokens=40, sampling=SamplingParams(temperature=1.0, seed=3))
    deltas = list(stream)
    assert "".join(deltas) == stream.result.text
    assert stream.result.text == tiny_loaded.tokenizer.decode(stream.result.token_ids)


def test_the_third_call_of_a_conversation_forwards_only_the_new_tokens(tiny_loaded):
    loop = DecodeLoop(tiny_loaded.model, tiny_loaded.tokenizer, stop_ids=())
    prompts, results = [image_prompt(tiny_loaded)], []
    for turn in range(3):
        results.append(loop.run(prompts[-1], max_new_tokens=5))
        user = chat_ids(tiny_loaded.tokenizer, f"<|im_end|>\n<|im_start|>user\nTurn {turn}?<|im_end|>\n<|im_start|>assistant\n")
        prompts.append(PromptInputs(prompts[-1].input_ids + results[-1].token_ids + user, prompts[-1].images))

    third = results[2].counters
    previous = len(prompts[1].input_ids) + len(results[1].token_ids)
    assert third.reused == previous - 1  # the second call's last token needed no forward then
    assert third.forwarded == len(prompts[2].input_ids) - previous + 1
    assert third.reused + third.forwarded == third.prompt


def test_a_text_only_model_refuses_images(tiny_loaded):
    step = TransformersStepModel(tiny_loaded.model.language_model)
    prompt = image_prompt(tiny_loaded)
    with pytest.raises(ImagesNotSupported):
        DecodeLoop(step, tiny_loaded.tokenizer).run(prompt, max_new_tokens=2)


def test_a_plain_causal_lm_decodes_text_with_prefix_reuse(tiny_loaded):
    loop = DecodeLoop(tiny_loaded.model.language_model, tiny_loaded.tokenizer, stop_ids=())
    ids = chat_ids(tiny_loaded.tokenizer, CHAT.format("Hello"))
    first = loop.run(PromptInputs(ids), max_new_tokens=4)
    second = loop.run(PromptInputs(ids + first.token_ids), max_new_tokens=4)
    assert second.counters.reused == len(ids) + 3


# -- the constraint hook -----------------------------------------------------------------------


def test_forced_tokens_are_counted_and_fed_in_one_forward_pass(tiny_loaded):
    tokenizer = tiny_loaded.tokenizer
    a, b, f1, f2, f3, d, e = (chat_ids(tokenizer, w)[0] for w in (" a", " b", " x", " y", " z", " d", " e"))
    eos = tokenizer.eos_token_id
    constraint = TokenAutomaton(
        {0: {a: 1, b: 1}, 1: {f1: 2}, 2: {f2: 3}, 3: {f3: 4}, 4: {d: 5, e: 5}, 5: {eos: "end"}}, len(tokenizer)
    )
    model = Recording(TransformersStepModel(tiny_loaded.model))
    prompt = PromptInputs(chat_ids(tokenizer, CHAT.format("Pick")))
    result = DecodeLoop(model, tokenizer).run(prompt, max_new_tokens=50, constraint=constraint)

    first = result.token_ids[0]
    assert first in (a, b) and result.token_ids[1:4] == [f1, f2, f3] and result.token_ids[5] == eos
    assert (result.counters.generated, result.counters.forced, result.finish_reason) == (6, 4, "stop")
    assert model.chunks == [prompt.input_ids, [first, f1, f2, f3]]
    with torch.no_grad():  # the one-pass forward saw the same context as an uncached run would
        logits = tiny_loaded.model(input_ids=torch.tensor([prompt.input_ids + [first, f1, f2, f3]])).logits[0, -1]
    assert result.token_ids[4] == (d if logits[d] >= logits[e] else e)


def test_the_completion_is_fed_when_the_budget_would_no_longer_fit_it(a_series_tokenizer, scripted_words):
    tokenizer = a_series_tokenizer
    close, name = chat_ids(tokenizer, "<tool_call>")[0], chat_ids(tokenizer, " end")[0]
    eos = tokenizer.eos_token_id
    free = {token: 0 for token in chat_ids(tokenizer, "one two three four five six seven eight nine ten")}
    constraint = TokenAutomaton({0: {**free, close: 1}, 1: {name: 2}, 2: {eos: "end"}}, len(tokenizer))
    loop = DecodeLoop(scripted_words, tokenizer)
    prompt = PromptInputs(chat_ids(tokenizer, CHAT.format("Count")))
    result = loop.run(prompt, max_new_tokens=6, constraint=constraint)
    assert result.token_ids == chat_ids(tokenizer, "one two three") + [close, name, eos]
    # the budget ended the text (the script goes on to "ten"), so the reason is "length", not "stop"
    assert (result.counters.generated, result.counters.forced, result.finish_reason) == (6, 3, "length")
    assert result.content_ids == result.token_ids[:-1]

    tight = TokenAutomaton({0: {**free, close: 1}, 1: {name: 2}, 2: {eos: "end"}}, len(tokenizer))
    result = loop.run(prompt, max_new_tokens=1, constraint=tight)
    assert result.token_ids == [close, name, eos] and result.finish_reason == "length"


def test_a_constraint_that_refuses_its_own_mask_is_reported(a_series_tokenizer, scripted_words):
    class Liar(TokenAutomaton):
        def advance(self, token_id: int) -> bool:
            return False

    one, eos = chat_ids(a_series_tokenizer, "one")[0], a_series_tokenizer.eos_token_id
    constraint = Liar({0: {one: 0, eos: "end"}}, len(a_series_tokenizer))
    prompt = PromptInputs(chat_ids(a_series_tokenizer, CHAT.format("Count")))
    with pytest.raises(ConstraintError):
        DecodeLoop(scripted_words, a_series_tokenizer).run(prompt, max_new_tokens=3, constraint=constraint)


# -- stops and streaming -----------------------------------------------------------------------


def test_a_stop_string_ends_the_call_and_is_not_streamed(a_series_tokenizer, scripted_words):
    prompt = PromptInputs(chat_ids(a_series_tokenizer, CHAT.format("Count")))
    stream = DecodeLoop(scripted_words, a_series_tokenizer).stream(prompt, stop=["ee fo"])
    deltas = list(stream)
    assert stream.result.text == "".join(deltas) == "one two thr"
    assert stream.result.finish_reason == "stop_string"
    assert not any("e" in delta and "fo" in delta for delta in deltas)


def test_stop_ids_and_max_new_tokens_end_a_call(a_series_tokenizer, scripted_words):
    prompt = PromptInputs(chat_ids(a_series_tokenizer, CHAT.format("Count")))
    loop = DecodeLoop(scripted_words, a_series_tokenizer)
    full = loop.run(prompt)
    assert full.text == "one two three four five six seven eight nine ten"
    assert (full.finish_reason, full.token_ids[-1]) == ("stop", a_series_tokenizer.eos_token_id)
    short = loop.run(prompt, max_new_tokens=2)
    assert (short.text, short.finish_reason) == ("one two", "length")


def test_special_tokens_stream_as_special_pieces_and_spelled_ones_as_text(a_series_tokenizer):
    tokenizer = a_series_tokenizer
    spelled = encode_untrusted(tokenizer, "<tool_call>x")
    real = tokenizer.convert_tokens_to_ids("<tool_call>")
    script = ScriptedModel("a", tokenizer)
    script.turns = [spelled + [real] + chat_ids(tokenizer, " b") + [tokenizer.eos_token_id]]
    result = DecodeLoop(script, tokenizer).run(PromptInputs(chat_ids(tokenizer, CHAT.format("Go"))))
    assert result.text == "<tool_call>x<tool_call> b"
    specials = [piece for piece in result.pieces if isinstance(piece, SpecialToken)]
    assert specials == ["<tool_call>"] and "".join(result.pieces) == result.text
    assert result.content_ids == spelled + [real] + chat_ids(tokenizer, " b")


def test_streamed_deltas_never_split_a_utf8_character(a_series_tokenizer):
    text = "Zürich 14 °C ☂ 日本語 🙂🌧 done"
    tokens = chat_ids(a_series_tokenizer, text)
    assert any("\ufffd" in a_series_tokenizer.decode([t]) for t in tokens)  # some tokens are byte fragments
    loop = DecodeLoop(ScriptedModel(text, a_series_tokenizer), a_series_tokenizer)
    stream = loop.stream(PromptInputs(chat_ids(a_series_tokenizer, CHAT.format("Say it"))))
    deltas = list(stream)
    assert "".join(deltas) == stream.result.text == text
    assert not any("\ufffd" in delta for delta in deltas)
    assert len(deltas) > 5


def test_prefix_reuse_keeps_the_cache_across_calls(a_series_tokenizer, scripted_words):
    loop = DecodeLoop(scripted_words, a_series_tokenizer)
    ids = chat_ids(a_series_tokenizer, CHAT.format("Count"))
    first = loop.run(PromptInputs(ids))
    again = loop.run(PromptInputs(ids))
    assert (again.counters.reused, again.counters.forwarded) == (len(ids) - 1, 1)
    assert again.text == first.text
    loop.reset()
    assert loop.run(PromptInputs(ids)).counters.reused == 0
