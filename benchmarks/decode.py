"""Decode-loop speed: tokens/s and ms/token (median and p99), with and without prefix reuse.

    python benchmarks/decode.py              # the tiny A3-shaped model on CPU
    python benchmarks/decode.py --cuda       # also the real A3 shape (12.7 B, random bf16 weights) on the
                                             # GPU, side by side with the decoder's own generate()

Each run is a two-turn conversation with an image: turn 2's prompt extends turn 1's prompt and output.
"no reuse" resets the cache before turn 2; "prefix reuse" keeps it. ms/token is the time between two
consecutive forward passes of one call (forward, pick, bookkeeping). A benchmark, not a test: these
machines are noisy, so compare ratios within one run, not numbers across machines.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from PIL import Image
from transformers import DynamicCache

from a3agent.model.decode import DecodeLoop, TransformersStepModel
from a3agent.model.loading import LoadedModel, load_model
from a3agent.model.prompt import ImageSpan, PromptInputs
from a3agent.model.template import encode_prompt

SYSTEM = "You are a careful assistant that looks closely at images before answering. " * 8
QUESTION = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is in this picture?"}]},
]
FOLLOW_UP = "<|im_end|>\n<|im_start|>user\nAnd what colour is it?<|im_end|>\n<|im_start|>assistant\n<think>\n"


class StepClock:
    """A StepModel wrapper that timestamps every forward pass (the start of every decode step)."""

    def __init__(self, inner: TransformersStepModel) -> None:
        self.inner, self.starts = inner, []

    def new_cache(self) -> DynamicCache:
        return self.inner.new_cache()

    def crop(self, cache: DynamicCache, length: int) -> None:
        self.inner.crop(cache, length)

    def forward(self, cache: DynamicCache, input_ids: Sequence[int], images: Sequence[ImageSpan]) -> torch.Tensor:
        self.starts.append(time.perf_counter())
        return self.inner.forward(cache, input_ids, images)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def conversation(loaded: LoadedModel) -> tuple[PromptInputs, Callable[[list[int]], PromptInputs]]:
    """Turn 1's prompt, and how to build turn 2's from turn 1's output."""
    noise = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    first = encode_prompt(loaded, QUESTION, [Image.fromarray(noise)])
    follow_up = loaded.tokenizer.encode(FOLLOW_UP, add_special_tokens=False)
    return first, lambda output: PromptInputs(first.input_ids + output + follow_up, first.images)


def measure(loaded: LoadedModel, runs: int, new_tokens: int, reuse: bool) -> dict[str, list[float]]:
    """Timings of turn 2 over `runs` conversations (one warm-up run first)."""
    clock = StepClock(TransformersStepModel(loaded.model))
    loop = DecodeLoop(clock, loaded.tokenizer, stop_ids=())
    first, second = conversation(loaded)
    stats: dict[str, list[float]] = {"prefill_ms": [], "step_ms": [], "tokens_per_s": [], "forwarded": []}
    for run in range(runs + 1):
        loop.reset()
        turn1 = loop.run(first, max_new_tokens=new_tokens)
        if not reuse:
            loop.reset()
        clock.starts.clear()
        started = time.perf_counter()
        turn2 = loop.run(second(turn1.token_ids), max_new_tokens=new_tokens)
        ended = time.perf_counter()
        if run == 0:
            continue
        starts = clock.starts + [ended]
        stats["prefill_ms"].append(1000 * (starts[1] - started))
        stats["step_ms"] += [1000 * (b - a) for a, b in zip(starts[1:], starts[2:])]
        stats["tokens_per_s"].append(turn2.counters.generated / (ended - started))
        stats["forwarded"].append(turn2.counters.forwarded)
    return stats


def report(title: str, rows: dict[str, dict[str, list[float]]], note: str) -> None:
    print(f"\n{title}\n{note}")
    print(f"{'':16}{'prefill ms':>20}{'ms/token':>20}{'tokens/s':>22}{'prompt run':>12}")
    print(f"{'':16}{'median / p99':>20}{'median / p99':>20}{'median / worst 1%':>22}{'tokens':>12}")
    for name, s in rows.items():
        print(
            f"{name:16}"
            f"{statistics.median(s['prefill_ms']):>11.2f} / {percentile(s['prefill_ms'], 99):<6.2f}"
            f"{statistics.median(s['step_ms']):>11.2f} / {percentile(s['step_ms'], 99):<6.2f}"
            f"{statistics.median(s['tokens_per_s']):>13.1f} / {percentile(s['tokens_per_s'], 1):<6.1f}"
            f"{statistics.median(s['forwarded']):>12.0f}"
        )


def tiny_report(runs: int, new_tokens: int) -> None:
    loaded = load_model("tiny", device="cpu")
    first, _ = conversation(loaded)
    rows = {name: measure(loaded, runs, new_tokens, reuse) for name, reuse in (("no reuse", False), ("prefix reuse", True))}
    note = (
        f"turn 2 of {runs} conversations; turn-1 prompt {len(first.input_ids)} tokens "
        f"({first.images[0].length} image), {new_tokens} new tokens per turn; {torch.get_num_threads()} threads"
    )
    report("tiny A3-shaped model, CPU, float32", rows, note)


def real_shape_config():
    """A3-Instruct's shape (DESIGN.md): Qwen3-VL-2B vision tower, 2-layer projector, Mistral-NeMo decoder."""
    from artemis_vlm import ArtemisVLMConfig
    from transformers import MistralConfig
    from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLVisionConfig

    vision = Qwen3VLVisionConfig(
        depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16, out_hidden_size=2048,
        patch_size=16, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304,
        deepstack_visual_indexes=[5, 11, 17],  # computed by the tower, ignored by ArtemisVLM, as in A3
    )
    text = MistralConfig(
        vocab_size=131072, hidden_size=5120, intermediate_size=14336, num_hidden_layers=40,
        num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
        rope_theta=1e6, sliding_window=None, tie_word_embeddings=False,
    )
    return ArtemisVLMConfig(vision_config=vision.to_dict(), text_config=text.to_dict())


def real_shape_model(device: torch.device, dtype: torch.dtype) -> LoadedModel:
    """Random weights in the real shape, initialised directly on `device`; tokenizer etc. from the tiny build."""
    from artemis_vlm import ArtemisVLMForConditionalGeneration

    tiny = load_model("tiny", device="cpu")
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = ArtemisVLMForConditionalGeneration(real_shape_config()).eval()
    finally:
        torch.set_default_dtype(previous)
    tiny.model = model
    return tiny


def generate_step_ms(loaded: LoadedModel, prompt: PromptInputs, runs: int, new_tokens: int) -> dict[str, list[float]]:
    """The decoder's own `generate()` (eager, dynamic cache, greedy) on the text of turn 2, timed per step."""
    from transformers import LogitsProcessor, LogitsProcessorList

    class Clock(LogitsProcessor):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def __call__(self, input_ids, scores):
            self.stamps.append(time.perf_counter())
            return scores

    decoder = loaded.model.language_model
    text_ids = [t for t in prompt.input_ids if t != loaded.special_ids.get("<|image_pad|>")]
    ids = torch.tensor([text_ids], device=decoder.device)
    stats: dict[str, list[float]] = {"prefill_ms": [], "step_ms": [], "tokens_per_s": [], "forwarded": []}
    for run in range(runs + 1):
        clock = Clock()
        started = time.perf_counter()
        decoder.generate(
            ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
            logits_processor=LogitsProcessorList([clock]), pad_token_id=0,
        )
        _sync(decoder.device)
        ended = time.perf_counter()
        if run == 0:
            continue
        stats["prefill_ms"].append(1000 * (clock.stamps[0] - started))
        stats["step_ms"] += [1000 * (b - a) for a, b in zip(clock.stamps, clock.stamps[1:])]
        stats["tokens_per_s"].append(new_tokens / (ended - started))
        stats["forwarded"].append(len(text_ids))
    return stats


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def real_shape_report(device: torch.device, runs: int, new_tokens: int) -> None:
    started = time.perf_counter()
    loaded = real_shape_model(device, torch.bfloat16)
    params = sum(p.numel() for p in loaded.model.parameters()) / 1e9
    built = time.perf_counter() - started
    first, second = conversation(loaded)
    rows = {name: measure(loaded, runs, new_tokens, reuse) for name, reuse in (("no reuse", False), ("prefix reuse", True))}
    turn2 = second([0] * new_tokens)
    rows["generate() text"] = generate_step_ms(loaded, turn2, runs, new_tokens)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else str(device)
    note = (
        f"{params:.2f} B parameters, built in {built:.0f} s; turn-1 prompt {len(first.input_ids)} tokens "
        f"({first.images[0].length} image), {new_tokens} new tokens per turn, {runs} runs. "
        "generate() runs turn 2's text without the image (artemis-vlm 0.1.4's generate() fails with one)."
    )
    report(f"real A3 shape, random weights, bfloat16, {name}", rows, note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuda", action="store_true", help="also benchmark the real 12.7 B shape on the GPU")
    parser.add_argument("--runs", type=int, default=20, help="conversations per mode (default 20; 5 with --cuda)")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens generated per turn")
    args = parser.parse_args()
    if args.cuda and not torch.cuda.is_available():
        parser.error("--cuda: no CUDA device is visible")
    torch.manual_seed(0)
    tiny_report(args.runs, args.new_tokens)
    if args.cuda:
        real_shape_report(torch.device("cuda"), min(args.runs, 5), args.new_tokens)


if __name__ == "__main__":
    main()
