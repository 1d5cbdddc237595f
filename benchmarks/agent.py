"""Agent steps: tokens forwarded per step with and without prefix reuse, and wall time per step, on CPU.

    python benchmarks/agent.py [--runs 20]

A 4-step scripted episode with an image: crop, zoom into the crop, image_info, then the answer. The
scripted model picks the tokens, while every forward pass also runs the tiny A3-shaped checkpoint
(vision tower included) on the same tokens, so the wall time holds a real model's prefill and decode
cost besides the agent's own: prompt rendering, image processing, the turn grammar's masks, parsing
and the tools. "no reuse" resets the decode loop's cache before every step, so each step runs its
whole prompt. "prefill ms" is the first forward pass of a step, the part prefix reuse shortens; the
rest of a step is mostly per-token decoding. A benchmark, not a test: these machines are noisy, so
compare ratios within one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from a3agent.agent.agent import Agent
from a3agent.agent.result import RunResult
from a3agent.model.decode import TransformersStepModel
from a3agent.model.loading import LoadedModel, load_model
from a3agent.model.prompt import ImageSpan
from a3agent.model.scripted import ScriptedModel
from a3agent.tools import crop, image_info, zoom


def call(name: str, **arguments: object) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


TURNS = [
    "The bowl sits in the lower half of the photo; I will crop it to see the fruit.\n</think>\n\n"
    + call("crop", image="img_0", bbox=[0.25, 0.5, 0.75, 1.0]),
    "The crop is still small; zooming into its middle will show the skins.\n</think>\n\n"
    + call("zoom", image="img_1", center=[0.5, 0.5], factor=2.0),
    "Orange skins with a red blush. Let me check the original size to judge the scale.\n</think>\n\n"
    + call("image_info", image="img_0"),
    "Small orange fruits with a blush, about five of them: apricots.\n</think>\n\n"
    "The bowl holds five apricots.",
]


def photo() -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (384, 512, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


class ScriptOnTiny:
    """A StepModel: the script's logits, at the cost of the tiny model's forward pass on the same tokens."""

    def __init__(self, tiny: LoadedModel) -> None:
        self.script = ScriptedModel(TURNS, tiny.tokenizer)
        self.tiny = TransformersStepModel(tiny.model)

    def new_cache(self) -> tuple[object, object]:
        return self.script.new_cache(), self.tiny.new_cache()

    def crop(self, cache: tuple[object, object], length: int) -> None:
        self.script.crop(cache[0], length)
        self.tiny.crop(cache[1], length)

    def forward(
        self, cache: tuple[object, object], input_ids: Sequence[int], images: Sequence[ImageSpan]
    ) -> torch.Tensor:
        self.tiny.forward(cache[1], input_ids, images)
        return self.script.forward(cache[0], input_ids, images)


def episode(tiny: LoadedModel, reuse: bool) -> RunResult:
    agent = Agent(dataclasses.replace(tiny, model=ScriptOnTiny(tiny)), [crop, zoom, image_info])
    if not reuse:
        stream = agent.decoder.stream

        def stream_without_reuse(prompt, **kwargs):
            agent.decoder.reset()
            return stream(prompt, **kwargs)

        agent.decoder.stream = stream_without_reuse
    result = agent.run("What fruit is in the bowl, and how many?", images=[photo()])
    assert [len(step.calls) for step in result.steps] == [1, 1, 1, 0], "the episode went off script"
    return result


def p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="episodes per mode (default 20)")
    runs = parser.parse_args().runs
    tiny = load_model("tiny", device="cpu")
    episode(tiny, reuse=True)  # warm-up: grammar compilation, vocabulary tables
    results = {mode: [episode(tiny, mode == "reuse") for _ in range(runs)] for mode in ("reuse", "no reuse")}

    print(f"4-step scripted episode with a 512x384 image on the tiny model's forward pass, {runs} runs per mode, CPU")
    print(f"{'step':>4} {'prompt':>7} {'fwd reuse':>10} {'fwd no reuse':>13} {'prefill ms':>15} "
          f"{'wall ms reuse':>18} {'wall ms no reuse':>18}")
    print(f"{'':>36} {'reuse / none':>15} {'med / p99':>18} {'med / p99':>18}")
    for index in range(4):
        rows = {mode: [r.steps[index] for r in res] for mode, res in results.items()}
        walls = {mode: [s.wall_s * 1e3 for s in steps] for mode, steps in rows.items()}
        prefill = {mode: statistics.median(s.counters.prefill_s * 1e3 for s in steps) for mode, steps in rows.items()}
        first = rows["reuse"][0].counters
        print(f"{index + 1:>4} {first.prompt:>7} {first.forwarded:>10} {rows['no reuse'][0].counters.forwarded:>13} "
              f"{prefill['reuse']:>6.1f} / {prefill['no reuse']:>6.1f} "
              f"{statistics.median(walls['reuse']):>8.1f} / {p99(walls['reuse']):>7.1f} "
              f"{statistics.median(walls['no reuse']):>8.1f} / {p99(walls['no reuse']):>7.1f}")
    totals = {mode: sum(s.counters.forwarded for s in res[0].steps) for mode, res in results.items()}
    print(f"forwarded over the episode: {totals['reuse']} with reuse, {totals['no reuse']} without "
          f"({totals['no reuse'] / totals['reuse']:.1f}x)")


if __name__ == "__main__":
    main()
