"""An offline A3-shaped checkpoint: real ArtemisVLM classes and Tekken vocabulary, tiny random weights.

Same structure as A3-Instruct (Qwen3-VL vision tower with patch 16 / merge 2 / temporal patch 2,
2-layer projector, Mistral decoder with the full 131,072-token vocabulary and untied embeddings),
shrunk to a few layers of width 64 so it builds in seconds and stays under 100 MB. The same seed
gives identical weights. It is for tests and demos: its outputs are noise, not language.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GenerationConfig, MistralConfig
from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLVisionConfig

from a3agent.model.template import default_template
from a3agent.home import a3agent_home, build_atomically
from a3agent.model.tokenizer import offline_tokenizer

__all__ = ["build_tiny_model", "tiny_checkpoint", "tiny_config"]

_EOS_IDS = [25, 2]  # <|im_end|>, </s> in the offline tokenizer


def tiny_config():
    """The ArtemisVLM config of the tiny build."""
    from artemis_vlm import ArtemisVLMConfig

    vision = Qwen3VLVisionConfig(
        depth=2,
        hidden_size=32,
        intermediate_size=64,
        num_heads=2,
        patch_size=16,
        spatial_merge_size=2,
        temporal_patch_size=2,
        out_hidden_size=64,
        num_position_embeddings=256,
        deepstack_visual_indexes=[],
    )
    text = MistralConfig(
        vocab_size=131072,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=32768,
        rope_theta=1e6,
        sliding_window=None,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=_EOS_IDS,
        pad_token_id=11,
    )
    return ArtemisVLMConfig(vision_config=vision.to_dict(), text_config=text.to_dict(), dtype="bfloat16")


def build_tiny_model(dest: str | Path, seed: int = 0) -> Path:
    """Build the tiny checkpoint into `dest` (weights, config, tokenizer, chat template); returns `dest`."""
    return build_atomically(Path(dest), lambda folder: _write_tiny(folder, seed))


def tiny_checkpoint(seed: int = 0) -> Path:
    """The tiny checkpoint in the a3agent home, built on first use."""
    folder = a3agent_home() / "models" / f"tiny-seed{seed}"
    if not (folder / "config.json").is_file():
        build_tiny_model(folder, seed)
    return folder


def _write_tiny(folder: Path, seed: int) -> None:
    from artemis_vlm import ArtemisVLMForConditionalGeneration

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ArtemisVLMForConditionalGeneration(tiny_config())
    model.generation_config = GenerationConfig(bos_token_id=1, eos_token_id=_EOS_IDS, pad_token_id=11)
    model.to(torch.bfloat16).save_pretrained(folder)
    tokenizer = offline_tokenizer()
    tokenizer.chat_template = default_template().source
    tokenizer.save_pretrained(folder)
