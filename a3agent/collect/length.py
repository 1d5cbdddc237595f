"""A training row's length in tokens, as the collator will make it: the model's chat template, its
tokenizer, and each image expanded to its `<|image_pad|>` count.

The count follows `ArtemisDataCollator` step for step (thinking detected from the target's think
block, the template rendered without a generation prompt, the text tokenised as the processor does),
and an image's pad count comes from the model's own image processor, so it is exact rather than an
estimate. Each image file is measured once per `RowMeasure` (its grid is cached by path).
"""

from __future__ import annotations

from typing import Any

from a3agent.errors import CollectError
from a3agent.model.images import process_image
from a3agent.model.loading import LoadedModel

__all__ = ["RowMeasure", "row_thinking"]


def row_thinking(messages: list[dict[str, Any]]) -> bool:
    """The collator's rule: thinking on iff the last assistant turn's content holds `<think>` and `</think>`."""
    last = next((m for m in reversed(messages) if m.get("role") == "assistant"), None)
    content = last.get("content", "") if last is not None else ""
    return last is None or (isinstance(content, str) and "<think>" in content and "</think>" in content)


class RowMeasure:
    """Counts rows' tokens with one model's template, tokenizer and image processor."""

    def __init__(self, model: LoadedModel) -> None:
        if model.image_processor is None:
            raise CollectError(f"{model.source} is a text-only model; measure rows with an ArtemisVLM checkpoint")
        self.model = model
        self._pads: dict[str, int] = {}

    def tokens(self, row: dict[str, Any]) -> int:
        """Tokens of `row` ({"images", "messages"}) once the collator has expanded its images."""
        text = self.model.template.render(row["messages"], None, thinking=row_thinking(row["messages"]),
                                          add_generation_prompt=False)
        ids = self.model.tokenizer(text)["input_ids"]
        return len(ids) + sum(self._pad_count(path) - 1 for path in row["images"])

    def _pad_count(self, path: str) -> int:
        if path not in self._pads:
            processor = self.model.image_processor
            assert processor is not None, "checked in __init__"
            _, grid = process_image(processor, path)
            self._pads[path] = int(grid.prod()) // processor.merge_size**2
        return self._pads[path]
