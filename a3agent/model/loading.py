"""One call from a checkpoint to everything the decode loop and the template need.

`load_model` takes an ArtemisVLM (A-series) checkpoint, any transformers causal LM (text only, with its
own chat template when it has one), or "tiny" (the offline A3-shaped build, made on first use). Hub ids
come from the local Hugging Face cache only. It does not quantise or shard across devices.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from artemis_vlm import ArtemisVLMForConditionalGeneration  # also registers "artemis_vlm" with the Auto classes
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerBase, Qwen2VLImageProcessorPil
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING
from transformers.utils import logging as transformers_logging

from a3agent.errors import UnsupportedArchitecture
from a3agent.model.images import DEFAULT_MAX_PIXELS, image_processor
from a3agent.model.template import ChatTemplate, template_for
from a3agent.model.tiny import tiny_checkpoint
from a3agent.model.tokenizer import load_tokenizer, resolve_checkpoint, special_token_ids, stop_token_ids

__all__ = ["LoadedModel", "load_model"]


@dataclass
class LoadedModel:
    """A model ready to prompt: weights in eval mode plus the tokenizer, template and ids that go with them."""

    tokenizer: PreTrainedTokenizerBase
    model: torch.nn.Module
    """The torch module, in eval mode, on its device."""
    image_processor: Qwen2VLImageProcessorPil | None
    """Turns images into patches (`a3agent.model.images.image_processor`); None for a text-only model."""
    template: ChatTemplate
    special_ids: dict[str, int]
    """Each A-series special and ChatML marker the tokenizer has as one token."""
    stop_ids: list[int]
    """Token ids that end an assistant turn."""
    kind: Literal["artemis", "causal-lm"]
    source: str
    """The checkpoint folder it was loaded from."""
    context_length: int | None = None
    """Positions the model holds (its config's `max_position_embeddings`); None when unknown."""

    def __repr__(self) -> str:
        weights = next(self.model.parameters(), None) if isinstance(self.model, torch.nn.Module) else None
        where = f", {weights.device}, {str(weights.dtype).removeprefix('torch.')}" if weights is not None else ""
        return f"LoadedModel({self.kind}, {self.source!r}{where})"


def load_model(
    path_or_id: str | os.PathLike[str],
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = False,
) -> LoadedModel:
    """Load a checkpoint folder, a cached hub id, or "tiny".

    `dtype` defaults to bfloat16 on CUDA and float32 on CPU; `device` to CUDA when there is one.
    `max_pixels` caps each image's size (larger images are scaled down). transformers' "Loading weights"
    progress bars are shown only with `progress=True`: an app embedding the agent owns its stderr. The
    global setting (`transformers.utils.logging.disable_progress_bar`) is restored afterwards.
    """
    folder = tiny_checkpoint() if os.fspath(path_or_id) == "tiny" else resolve_checkpoint(path_or_id)
    where = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = dtype or (torch.bfloat16 if where.type == "cuda" else torch.float32)
    kind = _kind(folder)
    tokenizer = load_tokenizer(folder)
    with _progress_bars(progress):
        model: Any = _model_class(kind).from_pretrained(folder, dtype=dtype, local_files_only=True)
    model = model.to(where).eval()
    generation_eos = getattr(model.generation_config, "eos_token_id", None)
    return LoadedModel(
        tokenizer=tokenizer,
        model=model,
        image_processor=image_processor(model.config.vision_config, max_pixels) if kind == "artemis" else None,
        template=template_for(tokenizer),
        special_ids=special_token_ids(tokenizer),
        stop_ids=sorted(set(stop_token_ids(tokenizer)) | set(_as_list(generation_eos))),
        kind=kind,
        source=str(folder),
        context_length=_context_length(model.config),
    )


@contextmanager
def _progress_bars(shown: bool) -> Iterator[None]:
    """transformers' progress bars on or off for a while, then as they were."""
    before = transformers_logging.is_progress_bar_enabled()
    _show_progress_bars(shown)
    try:
        yield
    finally:
        _show_progress_bars(before)


def _show_progress_bars(shown: bool) -> None:
    if shown:
        transformers_logging.enable_progress_bar()
    else:
        transformers_logging.disable_progress_bar()


def _kind(folder: Path) -> Literal["artemis", "causal-lm"]:
    model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    if model_type == "artemis_vlm":
        return "artemis"
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
    except (ValueError, KeyError) as exc:
        raise _unsupported(folder, model_type) from exc
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise _unsupported(folder, model_type)
    return "causal-lm"


def _unsupported(folder: Path, model_type: str | None) -> UnsupportedArchitecture:
    return UnsupportedArchitecture(
        f"{folder} holds a {model_type or 'untyped'} checkpoint; a3agent loads ArtemisVLM (A-series) "
        "checkpoints and transformers causal LMs: pick one of those"
    )


def _model_class(kind: str) -> type[ArtemisVLMForConditionalGeneration] | type[AutoModelForCausalLM]:
    return ArtemisVLMForConditionalGeneration if kind == "artemis" else AutoModelForCausalLM


def _context_length(config: Any) -> int | None:
    text = getattr(config, "text_config", None) or config
    length = getattr(text, "max_position_embeddings", None)
    return length if isinstance(length, int) else None


def _as_list(ids: int | list[int] | None) -> list[int]:
    return [] if ids is None else [ids] if isinstance(ids, int) else list(ids)
