"""Conversation dicts -> the exact A-series prompt, as text and as token ids with image spans.

Rendering uses the checkpoint's own chat template when it ships one, else `chat_template.jinja` here
(Qwen3 layout; see its header). Every assistant turn keeps its `<think>` block, rendered after the
generation prompt it was generated after (the message's recorded `thinking` flag), so a prompt
extends the previous one.

Tokenising keeps trust apart: only the template's own markup may become special tokens. Every string
in the messages and tools is marked before rendering wherever it spells a special token, and the
marked spans are then encoded as plain text (the mark character itself is marked too, so content
cannot unmark the template's markup). An assistant's `raw` text with its `raw_ids` (the generated
token ids) is replaced by those very ids, so what the model spelled out of ordinary tokens stays
ordinary tokens; ids a model turn cannot hold (past the vocabulary, or a special token other than the
turn's think and call markers) are not spliced, and the turn renders from its parts. `raw` without ids
is taken as the caller's trusted text. It does not handle video parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from transformers import PreTrainedTokenizerBase
from transformers.utils.chat_template_utils import _compile_jinja_template

from a3agent.errors import ImageError, ImagesNotSupported, ModelError
from a3agent.model.images import ImageInput, process_image
from a3agent.model.prompt import ImageSpan, PromptInputs
from a3agent.model.tokenizer import encode_untrusted

if TYPE_CHECKING:
    from a3agent.model.loading import LoadedModel

__all__ = ["ChatTemplate", "default_template", "encode_prompt", "template_for"]

_MARK = "\ue000"  # private-use character: "the special token (or mark) after me is content, not markup"
_SPLICE = "\ue001"  # private-use character: "\ue001N\ue001" stands for the N-th assistant turn's token ids
_IMAGE_PAD = "<|image_pad|>"
_TURN_MARKERS = frozenset(("<think>", "</think>", "<tool_call>", "</tool_call>"))
"""The only special tokens an assistant turn's generated ids may hold: its think block and its calls."""


@dataclass(frozen=True)
class ChatTemplate:
    """A jinja chat template and the special-token strings it may refer to (`bos_token`, ...)."""

    source: str
    """The jinja text."""
    origin: str
    """Where it came from: "a3agent default" or "checkpoint"."""
    variables: dict[str, str] = field(default_factory=dict)
    """Extra names the template sees, as in transformers: bos_token, eos_token."""

    def render(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] | None = None,
        *,
        thinking: bool = True,
        add_generation_prompt: bool = True,
    ) -> str:
        """The prompt text; the generation prompt opens `<think>` when `thinking`, else closes it empty."""
        return _compile_jinja_template(self.source).render(
            messages=list(messages),
            tools=list(tools) if tools else None,
            add_generation_prompt=add_generation_prompt,
            enable_thinking=thinking,
            **self.variables,
        )


def default_template() -> ChatTemplate:
    """The A-series template shipped with a3agent."""
    source = files("a3agent.model").joinpath("chat_template.jinja").read_text(encoding="utf-8")
    return ChatTemplate(source, "a3agent default")


def template_for(tokenizer: PreTrainedTokenizerBase) -> ChatTemplate:
    """The checkpoint's own template when its tokenizer carries one, else the default."""
    if not isinstance(tokenizer.chat_template, str):
        return default_template()
    names = {"bos_token": tokenizer.bos_token, "eos_token": tokenizer.eos_token}
    return ChatTemplate(tokenizer.chat_template, "checkpoint", {k: v for k, v in names.items() if v})


def encode_prompt(
    model: LoadedModel,
    messages: Sequence[dict[str, Any]],
    images: Sequence[ImageInput] = (),
    tools: Sequence[dict[str, Any]] | None = None,
    *,
    thinking: bool = True,
    add_generation_prompt: bool = True,
) -> PromptInputs:
    """Render and tokenise a conversation; each image's `<|image_pad|>` becomes N = t*h*w/merge² copies.

    `images` are given beside the messages, in the order of their `{"type": "image"}` parts.
    """
    _check_images(model, messages, images)
    specials = model.tokenizer.get_added_vocab()
    escape, scan = _special_patterns(tuple(specials))
    generated: list[list[int]] = []
    foreign = frozenset(token for name, token in specials.items() if name not in _TURN_MARKERS)
    escaped = [_splice(model.tokenizer, _escape_message(message, escape), generated, foreign) for message in messages]
    try:
        text = model.template.render(
            escaped, _escape(tools, escape), thinking=thinking, add_generation_prompt=add_generation_prompt
        )
    except RecursionError:  # jinja's tojson recurses: values nested about 1000 deep (a spliced turn is not rendered)
        raise ModelError("the chat template cannot render values nested this deep (tool-call arguments or "
                         "tool schemas about 1000 levels down); flatten them") from None
    return _tokenize(model, text, specials, scan, list(images), generated)


def _check_images(model: LoadedModel, messages: Sequence[dict[str, Any]], images: Sequence[ImageInput]) -> None:
    parts = sum(
        part.get("type") == "image"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )
    if (parts or images) and model.image_processor is None:
        raise ImagesNotSupported(f"{model.source} is a text-only model; drop the images or load an ArtemisVLM")
    if parts != len(images):
        raise ImageError(f"the messages have {parts} image parts but {len(images)} images were given")


@lru_cache(maxsize=8)
def _special_patterns(names: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """`escape` finds what content must have marked (specials and the mark itself); `scan` finds
    marked text and genuine specials, left to right."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True)) or "(?!)"
    marks = f"{_MARK}|{_SPLICE}"
    return re.compile(f"{marks}|{alternatives}"), re.compile(
        f"{_MARK}(?:{marks}|{alternatives})|{_SPLICE}[0-9]+{_SPLICE}|{alternatives}"
    )


def _escape_message(message: dict[str, Any], escape: re.Pattern[str]) -> dict[str, Any]:
    return {key: value if key in ("raw", "raw_ids") else _escape(value, escape) for key, value in message.items()}


def _splice(
    tokenizer: PreTrainedTokenizerBase, message: dict[str, Any], generated: list[list[int]], foreign: frozenset[int]
) -> dict[str, Any]:
    """Stand `raw` in for its `raw_ids` when they are ids a model turn can hold and decode to it; other
    ids drop both, and the turn renders from its parts.

    A turn's ids can hold: ids of this vocabulary (another tokenizer's, or a file's forged ids past it,
    are not), and no special token but the turn markers (`foreign` holds the others): a generated turn
    never holds one (its stop token is cut off), and `<|im_end|>` or `<|im_start|>` from a file or a
    caller would open a turn of its own in the prompt.
    """
    ids = message.get("raw_ids")
    if ids is None:
        raw = message.get("raw")
        return {**message, "raw": raw.replace(_SPLICE, _MARK + _SPLICE)} if isinstance(raw, str) else message
    raw = message.get("raw")
    message = {key: value for key, value in message.items() if key not in ("raw", "raw_ids")}
    size = len(tokenizer)
    held = isinstance(ids, list | tuple) and all(type(i) is int and 0 <= i < size and i not in foreign for i in ids)
    if not held or tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False) != raw:
        return message
    generated.append(list(ids))
    return {**message, "raw": f"{_SPLICE}{len(generated) - 1}{_SPLICE}"}


def _escape(value: Any, escape: re.Pattern[str]) -> Any:
    """A copy of `value` with every string (dict keys too) marked; lists and tuples become lists.

    Iterative: tool-call arguments nest as deep as the model wrote them, past Python's recursion limit.
    """

    def copy(item: Any) -> Any:
        if isinstance(item, str):
            return escape.sub(lambda match: _MARK + match.group(), item)
        if isinstance(item, dict | list | tuple):
            empty: dict[Any, Any] | list[Any] = {} if isinstance(item, dict) else []
            todo.append((item, empty))
            return empty
        return item

    todo: list[tuple[Any, Any]] = []
    top = copy(value)
    while todo:
        source, target = todo.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[copy(key)] = copy(item)
        else:
            target.extend(copy(item) for item in source)
    return top


def _tokenize(
    model: LoadedModel,
    text: str,
    specials: dict[str, int],
    scan: re.Pattern[str],
    images: list[ImageInput],
    generated: list[list[int]],
) -> PromptInputs:
    ids, spans, plain, position = _bos(model.tokenizer, text), [], [], 0
    for match in scan.finditer(text):
        plain.append(text[position : match.start()])
        position = match.end()
        if match.group().startswith(_MARK):
            plain.append(match.group()[1:])
            continue
        ids += encode_untrusted(model.tokenizer, "".join(plain))
        plain = []
        if match.group().startswith(_SPLICE):
            ids += generated[int(match.group()[1:-1])]
        elif match.group() == _IMAGE_PAD and images:
            spans.append(_image_span(model, images.pop(0), start=len(ids)))
            ids += [specials[_IMAGE_PAD]] * spans[-1].length
        else:
            ids.append(specials[match.group()])
    ids += encode_untrusted(model.tokenizer, "".join(plain) + text[position:])
    if images:
        total = len(spans) + len(images)
        raise ImageError(f"the chat template rendered {len(spans)} image placeholders for {total} images")
    return PromptInputs(ids, spans)


def _bos(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """BOS when the tokenizer adds one to plain encodes and the template did not write it (as in training)."""
    bos = tokenizer.bos_token_id
    adds_bos = bos is not None and tokenizer.encode("a", add_special_tokens=True)[:1] == [bos]
    return [bos] if adds_bos and not text.startswith(tokenizer.bos_token) else []


def _image_span(model: LoadedModel, image: ImageInput, start: int) -> ImageSpan:
    processor = model.image_processor
    assert processor is not None, "_check_images refuses images for a text-only model"
    pixel_values, grid = process_image(processor, image)
    length = int(grid.prod()) // processor.merge_size**2
    return ImageSpan(start, length, pixel_values, grid)
