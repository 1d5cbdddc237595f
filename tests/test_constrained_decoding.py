"""Property tests: whatever a model emits under the constraint parses, validates and ends in budget.

A random-logits model (and the tiny random-weight checkpoint) is the harshest user of a grammar.
Each run goes through the real decode loop, so forced continuations and the termination
guarantee are exercised too.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import jsonschema
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bfcl  # noqa: E402
import maskbench  # noqa: E402

from a3agent.agent.parsing import parse_turn  # noqa: E402
from a3agent.errors import GrammarError  # noqa: E402
from a3agent.grammars import Thinking, TurnOptions, compile_json_schema, compile_turn  # noqa: E402
from a3agent.model.decode import DecodeLoop  # noqa: E402
from a3agent.model.prompt import PromptInputs  # noqa: E402
from a3agent.model.sampling import SamplingParams  # noqa: E402
from a3agent.tools.schema_transforms import normalise_schema  # noqa: E402


class RandomLogits:
    """A StepModel whose next-token logits are seeded noise (no weights, no cache)."""

    def __init__(self, vocab_size: int, seed: int) -> None:
        self.vocab_size = vocab_size
        self.generator = torch.Generator().manual_seed(seed)

    def new_cache(self) -> Any:
        return None

    def crop(self, cache: Any, length: int) -> None:
        pass

    def forward(self, cache: Any, input_ids: Sequence[int], images: Sequence[Any]) -> torch.Tensor:
        return torch.randn(self.vocab_size, generator=self.generator) * 4


def _decode(model, tokenizer, grammar, seed: int, max_new_tokens: int):
    loop = DecodeLoop(model, tokenizer, stop_ids=grammar.stop_ids)
    prompt = PromptInputs(tokenizer.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False), [])
    matcher = grammar.matcher()
    result = loop.run(
        prompt,
        max_new_tokens=max_new_tokens,
        sampling=SamplingParams(temperature=1.0, seed=seed),
        constraint=matcher,
    )
    assert result.counters.generated <= max_new_tokens
    assert matcher.stopped, "the turn did not end with a stop token"
    return result


def _schemas(limit: int) -> list[dict]:
    """MaskBench schemas that compile (every 20th file, so the sample covers every source)."""
    if not maskbench.MASKBENCH.is_dir():
        pytest.skip(f"MaskBench data not found at {maskbench.MASKBENCH}")
    out = []
    for case in maskbench.load_cases(every=20):
        try:
            compile_json_schema(case.schema, maskbench.tekken_tokenizer_cached())
        except GrammarError:
            continue
        out.append(case.schema)
        if len(out) == limit:
            break
    return out


@pytest.mark.parametrize("seed", range(3))
def test_random_logits_under_json_schemas_always_give_valid_json(seed):
    tokenizer = maskbench.tekken_tokenizer_cached()
    for i, schema in enumerate(_schemas(limit=12)):
        grammar = compile_json_schema(schema, tokenizer)
        model = RandomLogits(len(tokenizer), seed * 1000 + i)
        result = _decode(model, tokenizer, grammar, seed, max_new_tokens=48)
        value = json.loads(result.text)
        jsonschema.validate(value, schema)


@pytest.mark.parametrize("dialect", ["hermes-json", "qwen3-xml"])
def test_random_logits_under_turn_grammars_give_a_filled_think_and_valid_calls(a_series_tokenizer, dialect):
    if not maskbench.BFCL.is_dir():
        pytest.skip(f"BFCL data not found at {maskbench.BFCL}")
    thinking = Thinking(min_tokens=4, max_tokens=12)
    for seed, case in zip(range(16), bfcl.load_cases()[::23]):
        tools = bfcl.tool_dicts(case)
        options = TurnOptions(dialect=dialect, tool_choice="required")
        grammar = compile_turn(tools, a_series_tokenizer, options, thinking)
        model = RandomLogits(len(a_series_tokenizer), seed)
        result = _decode(model, a_series_tokenizer, grammar, seed, max_new_tokens=80)
        raw = a_series_tokenizer.decode(result.token_ids[:-1])
        think = raw.split("</think>")[0]
        think_tokens = a_series_tokenizer.encode(think, add_special_tokens=False)
        assert sum(1 for t in think_tokens if a_series_tokenizer.decode([t]).strip()) >= 1
        schemas = {t["name"]: normalise_schema(t["parameters"]) for t in tools}
        counter = itertools.count()
        turn = parse_turn(raw, dialect=dialect, thinking=True, tools=schemas, next_id=lambda: f"c{next(counter)}")
        assert turn.calls and len(turn.well_formed_calls) == len(turn.calls), raw
        for call in turn.well_formed_calls:
            jsonschema.validate(call.arguments, schemas[call.name])


def test_think_block_meets_min_tokens_under_random_logits(a_series_tokenizer):
    grammar = compile_turn([], a_series_tokenizer, TurnOptions(tool_choice="none"), Thinking(min_tokens=6, max_tokens=10))
    for seed in range(8):
        model = RandomLogits(len(a_series_tokenizer), 100 + seed)
        result = _decode(model, a_series_tokenizer, grammar, seed, max_new_tokens=40)
        ids = result.token_ids
        end = ids.index(a_series_tokenizer.convert_tokens_to_ids("</think>"))
        visible = [t for t in ids[:end] if a_series_tokenizer.decode([t]).strip()]
        assert 6 <= len(visible) and end <= 10 + 1


def test_tiny_model_under_a_turn_grammar_gives_valid_calls(tiny_loaded):
    tokenizer = tiny_loaded.tokenizer
    tools = [
        {"name": "crop", "description": "Crop an image.", "parameters": {
            "type": "object",
            "properties": {"image": {"type": "string", "pattern": "^img_[0-9]+$"},
                           "bbox": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                                    "minItems": 4, "maxItems": 4}},
            "required": ["image", "bbox"], "additionalProperties": False}},
    ]
    grammar = compile_turn(tools, tokenizer, TurnOptions(tool_choice="required"), Thinking(2, 8))
    for seed in range(5):
        loop = DecodeLoop.for_model(tiny_loaded)
        prompt = PromptInputs(tokenizer.encode("<|im_start|>assistant\n<think>\n", add_special_tokens=False), [])
        matcher = grammar.matcher()
        result = loop.run(prompt, max_new_tokens=60, sampling=SamplingParams(temperature=1.0, seed=seed),
                          constraint=matcher)
        assert result.counters.generated <= 60 and matcher.stopped
        raw = tokenizer.decode(result.token_ids[:-1])
        counter = itertools.count()
        turn = parse_turn(raw, dialect="hermes-json", thinking=True, tools={"crop": tools[0]["parameters"]},
                          next_id=lambda: f"c{next(counter)}")
        assert len(turn.well_formed_calls) >= 1 and len(turn.well_formed_calls) == len(turn.calls), raw
        for call in turn.well_formed_calls:
            jsonschema.validate(call.arguments, tools[0]["parameters"])
