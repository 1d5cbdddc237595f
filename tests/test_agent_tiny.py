"""The harshest user of the loop: the tiny random-weight model, sampling, under the turn grammar."""

import dataclasses
from typing import Literal

import pytest
from PIL import Image

from a3agent.agent.agent import Agent
from a3agent.agent.calls import validates
from a3agent.grammars import Thinking
from a3agent.model.decode import TransformersStepModel
from a3agent.model.sampling import SamplingParams
from a3agent.tools import Toolbox, crop, image_info, now, tool, zoom


@tool
def note(text: str, level: Literal["low", "high"] = "low", count: int = 1) -> str:
    """Write a note down.

    Args:
        text: What to note.
        level: How important it is.
        count: How many copies.
    """
    return f"noted {count}x ({level})"


class NudgedToCall:
    """The tiny model with `<tool_call>` made likely: a random model almost never samples that one
    token of 131,072 by itself, and then every call would come from the grammar's forced completion
    instead of from sampled arguments."""

    def __init__(self, loaded):
        self.inner = TransformersStepModel(loaded.model)
        self.call_id = loaded.special_ids["<tool_call>"]

    def new_cache(self):
        return self.inner.new_cache()

    def crop(self, cache, length):
        self.inner.crop(cache, length)

    def forward(self, cache, input_ids, images):
        logits = self.inner.forward(cache, input_ids, images).clone()
        logits[self.call_id] += 12.0
        return logits


@pytest.fixture(scope="module")
def nudged(tiny_loaded):
    return dataclasses.replace(tiny_loaded, model=NudgedToCall(tiny_loaded))


@pytest.fixture(scope="module")
def toolbox():
    return Toolbox([crop, zoom, image_info, now, note])


@pytest.mark.parametrize(("dialect", "runs"), [("hermes-json", 50), ("qwen3-xml", 10)])
def test_seeded_runs_never_produce_an_invalid_call_or_a_crash_and_end_within_max_steps(
    nudged, toolbox, dialect, runs
):
    image = Image.new("RGB", (64, 64), (120, 60, 200))
    names = set()
    for seed in range(runs):
        agent = Agent(nudged, toolbox, thinking=Thinking(1, 4), dialect=dialect, max_steps=3, max_new_tokens=32,
                      sampling=SamplingParams(temperature=1.0, seed=seed))
        result = agent.run("Describe the image.", images=[image])
        assert 1 <= len(result.steps) <= 3
        for step in result.steps:
            assert all(r.call_id is not None for r in step.results), f"seed {seed}: a malformed call got through"
            assert all(validates(toolbox, c) for c in step.calls), f"seed {seed}: a call broke its tool's schema"
            names.update(c.name for c in step.calls)
    assert len(names) >= 3, f"the runs called only {sorted(names)}"
