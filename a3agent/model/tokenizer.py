"""Tokenizers: a checkpoint's own, or the offline A-series build from the real Tekken vocabulary.

The offline build is Tekken (Mistral-NeMo, the A-series base) with the reserved slots renamed:

    14 <think>          15 </think>          16 <tool_call>       17 </tool_call>
    18 <tool_response>  19 </tool_response>  20 <|vision_start|>  21 <|vision_end|>
    22 <|image_pad|>    23 <|video_pad|>     24 <|im_start|>      25 <|im_end|>

Slots 14-23 are the A-series' published choice. The ids of the ChatML markers and of EOS are not
published, so this build documents its own choice: the unused `<SPECIAL_24>`/`<SPECIAL_25>` slots carry
`<|im_start|>`/`<|im_end|>`, and EOS is `<|im_end|>` (with Tekken's `</s>` also a stop token). All
Tekken slots 0-999 are special: encoding never splits them, and ordinary text never maps to them.

Hub ids are resolved from the local Hugging Face cache only; this module never touches the network.
It does not handle slow (Python) tokenizers: checkpoints must ship `tokenizer.json`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from a3agent.errors import ModelNotFound, NotCachedLocally

from a3agent.home import a3agent_home, build_atomically

__all__ = [
    "A_SERIES_SPECIALS",
    "CHATML_MARKERS",
    "encode_untrusted",
    "load_tokenizer",
    "offline_tokenizer",
    "resolve_checkpoint",
    "special_token_ids",
    "stop_token_ids",
]

A_SERIES_SPECIALS = (
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
"""The A-series specials, in slot order 14-23 of the Tekken vocabulary."""

CHATML_MARKERS = ("<|im_start|>", "<|im_end|>")
"""Turn markers; slots 24 and 25 in the offline build."""

_STOP_STRINGS = ("<|im_end|>", "</s>")
_OFFLINE_DIR = "tokenizers/a-series-tekken-v1"
_TEKKEN_FIRST_RENAMED_SLOT = 14


def offline_tokenizer() -> PreTrainedTokenizerFast:
    """The A-series tokenizer built from mistral-common's Tekken file; built once (~4 s), then cached."""
    folder = a3agent_home() / _OFFLINE_DIR
    if not (folder / "tokenizer.json").is_file():
        build_atomically(folder, _write_offline_tokenizer)
    return PreTrainedTokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"),
        bos_token="<s>",
        eos_token="<|im_end|>",
        unk_token="<unk>",
        pad_token="<pad>",
    )


def _write_offline_tokenizer(folder: Path) -> None:
    import mistral_common
    from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer

    tekken = Path(mistral_common.__file__).parent / "data" / "tekken_240718.json"
    spec = json.loads(convert_tekken_tokenizer(str(tekken)).backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    names = A_SERIES_SPECIALS + CHATML_MARKERS
    for slot, name in enumerate(names, start=_TEKKEN_FIRST_RENAMED_SLOT):
        added = spec["added_tokens"][slot]
        assert added["id"] == slot and added["special"], added
        del vocab[added["content"]]
        vocab[name] = slot
        added["content"] = name
    (folder / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")


def resolve_checkpoint(path_or_id: str | os.PathLike[str]) -> Path:
    """A local checkpoint folder for a path or a hub id, from the local Hugging Face cache only.

    Example: resolve_checkpoint("Qwen/Qwen3-0.6B") -> ~/.cache/huggingface/hub/models--Qwen--.../snapshots/<rev>
    """
    text = os.fspath(path_or_id)
    path = Path(text).expanduser()
    if path.exists() or _looks_like_path(text):
        if not (path / "config.json").is_file():
            what = "holds no config.json" if path.is_dir() else "does not exist"
            raise ModelNotFound(f"{path} {what}: give a checkpoint folder, a cached hub id, or 'tiny'")
        return path
    return _cached_snapshot(text)


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text.count("/") > 1 or "\\" in text


def _cached_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except HFValidationError as exc:
        raise ModelNotFound(f"{repo_id!r} is neither an existing folder nor a valid hub id") from exc
    except LocalEntryNotFoundError as exc:
        raise NotCachedLocally(
            f"{repo_id!r} is not a local folder and not cached locally: "
            f"download it first with `hf download {repo_id}`"
        ) from exc


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """The tokenizer a checkpoint folder ships."""
    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"{folder} holds no usable tokenizer ({exc}); add tokenizer.json") from exc


def special_token_ids(tokenizer: PreTrainedTokenizerBase) -> dict[str, int]:
    """Each A-series special and ChatML marker that is a single token of `tokenizer`, with its id."""
    added = tokenizer.get_added_vocab()
    return {name: added[name] for name in A_SERIES_SPECIALS + CHATML_MARKERS if name in added}


def stop_token_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Ids that end an assistant turn: EOS, `<|im_end|>` and `</s>` where the tokenizer has them."""
    added = tokenizer.get_added_vocab()
    names = (tokenizer.eos_token, *_STOP_STRINGS)
    return sorted({added[name] for name in names if name in added})


def encode_untrusted(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of `text` as plain text: added/special tokens are never matched, only the base vocab.

    For text from users and tools, so that a typed "<tool_call>" cannot become the special token.
    Example: encode_untrusted(tok, "<think>") -> [49250, 2077, 1062]  (not [14])
    """
    backend = tokenizer.backend_tokenizer
    if backend.normalizer is not None:
        text = backend.normalizer.normalize_str(text)
    pieces = backend.pre_tokenizer.pre_tokenize_str(text) if backend.pre_tokenizer else [(text, None)]
    return [token.id for piece, _ in pieces for token in backend.model.tokenize(piece)]
