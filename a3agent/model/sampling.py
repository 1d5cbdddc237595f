"""Pick the next token from one row of logits: greedy, temperature, top-k, top-p, under a mask.

Sampling draws from a `torch.Generator` the caller seeds, so the same seed gives the same tokens.
Not handled here: repetition penalties, beam search, batches (the decode loop runs one sequence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["SamplingParams", "apply_mask", "make_generator", "sample"]


@dataclass(frozen=True)
class SamplingParams:
    """How the next token is chosen. `temperature == 0` is greedy (argmax), the default."""

    temperature: float = 0.0
    """0 picks the argmax; otherwise logits are divided by it before softmax."""
    top_k: int = 0
    """Keep only the k most likely tokens; 0 keeps all."""
    top_p: float = 1.0
    """Keep the smallest set of tokens whose probability reaches p; 1.0 keeps all."""
    seed: int | None = None
    """Seed of the generator; None draws from torch's global generator."""

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"invalid sampling parameters: {self}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def make_generator(params: SamplingParams, device: torch.device) -> torch.Generator | None:
    """A generator seeded from `params` on `device`, or None when no seed (or greedy) needs one."""
    if params.greedy or params.seed is None:
        return None
    return torch.Generator(device=device).manual_seed(params.seed)


def apply_mask(logits: torch.Tensor, mask: np.ndarray | torch.Tensor | None) -> torch.Tensor:
    """`logits` with disallowed tokens set to -inf; columns past the mask's width are disallowed.

    The logits row may be wider than the tokenizer's vocabulary (padded embedding matrices).
    Example: apply_mask(torch.zeros(4), np.array([True, False])) -> [0, -inf, -inf, -inf]
    """
    if mask is None:
        return logits
    allowed = torch.tensor(mask, dtype=torch.bool, device=logits.device)  # copies the read-only mask
    if allowed.shape[0] != logits.shape[-1]:
        full = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
        width = min(allowed.shape[0], full.shape[0])
        full[:width] = allowed[:width]
        allowed = full
    return logits.masked_fill(~allowed, float("-inf"))


def sample(
    logits: torch.Tensor,
    params: SamplingParams,
    generator: torch.Generator | None = None,
    mask: np.ndarray | torch.Tensor | None = None,
) -> int:
    """The id picked from a 1-D logits row by `params`, among the tokens `mask` allows."""
    row = apply_mask(logits.float(), mask)
    if params.greedy:
        return int(torch.argmax(row))
    row = row / params.temperature
    if params.top_k:
        row = _keep_top_k(row, params.top_k)
    if params.top_p < 1.0:
        row = _keep_top_p(row, params.top_p)
    probs = torch.softmax(row, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def _keep_top_k(row: torch.Tensor, k: int) -> torch.Tensor:
    if k >= row.shape[-1]:
        return row
    kth = torch.topk(row, k).values[-1]
    return row.masked_fill(row < kth, float("-inf"))


def _keep_top_p(row: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: drop the tail whose mass lies past p; the most likely token always stays."""
    sorted_logits, order = torch.sort(row, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    drop_sorted = probs.cumsum(-1) - probs >= p
    drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
    return row.masked_fill(drop, float("-inf"))
