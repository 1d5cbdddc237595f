"""What the template hands the decode loop: token ids and where each image's tokens sit.

Plain data only; building it is `a3agent.model.template.encode_prompt`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["ImageSpan", "PromptInputs"]


@dataclass(frozen=True)
class ImageSpan:
    """One image inside a prompt: `input_ids[start:start+length]` are its `<|image_pad|>` tokens."""

    start: int
    """Index of the first `<|image_pad|>` token of this image."""
    length: int
    """Number of `<|image_pad|>` tokens: grid_t * grid_h * grid_w / merge**2."""
    pixel_values: torch.Tensor
    """Flattened patches from the image processor, shape (grid_t*grid_h*grid_w, patch_dim)."""
    image_grid_thw: torch.Tensor
    """Patch grid of this image, shape (1, 3): temporal, height, width."""


@dataclass(frozen=True)
class PromptInputs:
    """A rendered, tokenised prompt ready for the decode loop."""

    input_ids: list[int]
    """Token ids, image placeholders already expanded."""
    images: list[ImageSpan] = field(default_factory=list)
    """One span per image, in prompt order."""
