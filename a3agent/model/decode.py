"""Our own decode loop: prefill, KV cache, sampling, a constraint hook, stops, streaming, prefix reuse.

We do not call `generate()`: artemis-vlm 0.1.4 decides "first step" by `past_key_values is None`, which
never holds under transformers 5, so a generation with an image fails on its second step. Owning the
loop also lets a constraint mask every step, feed forced tokens in one forward pass, and keep the KV
cache between agent turns so a turn only pays for the tokens that follow the previous prompt.

One sequence at a time: no batching, no speculative decoding. A `DecodeLoop` is not thread-safe; start
a new call only after the previous stream is done (or abandoned).
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import numpy as np
import torch
from transformers import DynamicCache, PreTrainedTokenizerBase

from a3agent.errors import ConstraintError, ImagesNotSupported
from a3agent.model.prompt import ImageSpan, PromptInputs
from a3agent.model.sampling import SamplingParams, make_generator, sample
from a3agent.model.tokenizer import stop_token_ids

if TYPE_CHECKING:
    from a3agent.model.loading import LoadedModel

__all__ = [
    "Constraint",
    "DecodeCounters",
    "DecodeLoop",
    "DecodeResult",
    "DecodeStream",
    "FinishReason",
    "SpecialToken",
    "StepModel",
    "TransformersStepModel",
]

FinishReason = Literal["stop", "length", "stop_string"]
"""`stop`: the model (or the grammar) ended the turn; `length`: a token budget ended it, cut or
forced to its shortest completion; `stop_string`: one of the call's stop strings appeared."""


class SpecialToken(str):
    """A text piece that is one generated special token id, not ordinary text spelling it.

    The decode loop streams each special token as a delta of its own of this type, so a reader
    can tell `<tool_call>` the token (structure) from `<tool_call>` written with ordinary tokens
    (text the model may not turn into structure).
    """

    __slots__ = ()


class Constraint(Protocol):
    """Which tokens are legal next (docs/CONTRACTS.md, "Constraint"); the grammar engine implements it."""

    def mask(self) -> np.ndarray: ...
    def advance(self, token_id: int) -> bool: ...
    def forced(self) -> list[int]: ...
    def completion(self) -> list[int]: ...
    def accepting(self) -> bool: ...
    def rollback(self, n: int) -> None: ...


class StepModel(Protocol):
    """What the loop drives: new tokens in, next-token logits out, on top of a cache.

    The model holds no per-sequence state: each loop owns its cache, so loops may share one model.
    """

    def new_cache(self) -> Any:
        """An empty cache."""
        ...

    def crop(self, cache: Any, length: int) -> None:
        """Forget every position of `cache` from `length` on."""
        ...

    def forward(self, cache: Any, input_ids: Sequence[int], images: Sequence[ImageSpan]) -> torch.Tensor:
        """Run `input_ids` after the cached positions, adding them to `cache`; return next-token logits.

        The logits are 1-D. `images` are the spans inside this chunk, `start` counted from its first token.
        """
        ...


class TransformersStepModel:
    """A `StepModel` over a transformers model: an ArtemisVLM, or any causal LM (text only).

    Image features are computed here, once, only for the images in the chunk being run, and spliced
    into the input embeddings at their `<|image_pad|>` positions, as ArtemisVLM's own forward does.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.model: Any = model
        self.language_model: Any = getattr(model, "language_model", model)
        params = inspect.signature(self.language_model.forward).parameters
        # transformers 5.24 renamed `past_key_values` to `cache`; earlier 5.x only knows the old name.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def new_cache(self) -> DynamicCache:
        return DynamicCache()

    def crop(self, cache: DynamicCache, length: int) -> None:
        if length < cache.get_seq_length():
            cache.crop(length - cache.get_seq_length())

    @torch.inference_mode()
    def forward(self, cache: DynamicCache, input_ids: Sequence[int], images: Sequence[ImageSpan]) -> torch.Tensor:
        embed = self.language_model.get_input_embeddings()
        ids = torch.tensor([list(input_ids)], dtype=torch.long, device=embed.weight.device)
        inputs: dict[str, Any] = {"input_ids": ids}
        if images:
            inputs = {"inputs_embeds": self._embed_with_images(embed(ids), images)}
        out = self.language_model(**inputs, use_cache=True, logits_to_keep=1, **{self._cache_arg: cache})
        return out.logits[0, -1]

    def _embed_with_images(self, embeds: torch.Tensor, images: Sequence[ImageSpan]) -> torch.Tensor:
        if not hasattr(self.model, "get_image_features"):
            raise ImagesNotSupported(
                f"{type(self.model).__name__} is a text-only model: remove the images from the "
                "conversation or load a vision-language (ArtemisVLM) checkpoint"
            )
        pixels = torch.cat([span.pixel_values for span in images]).to(embeds.device)
        grids = torch.cat([span.image_grid_thw for span in images]).to(embeds.device)
        features = self.model.get_image_features(pixels, grids).to(embeds.dtype)
        if features.shape[0] != sum(span.length for span in images):
            raise ValueError(
                f"image spans hold {sum(s.length for s in images)} <|image_pad|> tokens but the "
                f"vision tower made {features.shape[0]} features: the spans do not match the grids"
            )
        offset = 0
        for span in images:
            embeds[0, span.start : span.start + span.length] = features[offset : offset + span.length]
            offset += span.length
        return embeds


@dataclass
class DecodeCounters:
    """What one call cost. `reused + forwarded == prompt`; `forced` is part of `generated`."""

    prompt: int = 0
    """Tokens in the prompt."""
    reused: int = 0
    """Prompt tokens whose keys and values came from the previous call's cache."""
    forwarded: int = 0
    """Prompt tokens run through the model in the prefill."""
    generated: int = 0
    """New tokens, a final stop token included."""
    forced: int = 0
    """New tokens the constraint dictated (forced continuations and completions), not sampled."""
    prefill_s: float = 0.0
    """Seconds in the first forward pass and the first pick."""
    decode_s: float = 0.0
    """Seconds in the later forward passes and picks."""
    mask_s: float = 0.0
    """Seconds inside the constraint's methods."""


@dataclass
class DecodeResult:
    """One call's output. `text` is what the stream delivered: special tokens kept, no stop token."""

    text: str
    token_ids: list[int]
    """Every new token, including the stop token that ended the call."""
    finish_reason: FinishReason
    counters: DecodeCounters = field(default_factory=DecodeCounters)
    pieces: list[str] = field(default_factory=list)
    """The streamed deltas, which join to `text`; each real special token is a `SpecialToken`."""
    content_ids: list[int] = field(default_factory=list)
    """`token_ids` without the stop token: what this turn is made of in the next prompt."""


class DecodeStream(Iterator[str]):
    """Yields text deltas; `result` is set once the stream is exhausted."""

    def __init__(self, steps: Generator[str, None, DecodeResult]) -> None:
        self._steps = steps
        self.result: DecodeResult | None = None

    def __next__(self) -> str:
        if self.result is not None:
            raise StopIteration
        try:
            return next(self._steps)
        except StopIteration as done:
            self.result = done.value
            raise


class DecodeLoop:
    """Generates one turn at a time and keeps the KV cache for the next turn's shared prefix.

    `model` is a `StepModel` or a transformers model (wrapped in `TransformersStepModel`).
    `stop_ids` end a call when generated; by default the tokenizer's EOS, `<|im_end|>` and `</s>`.
    """

    def __init__(
        self,
        model: StepModel | torch.nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        stop_ids: Iterable[int] | None = None,
    ) -> None:
        self.model: StepModel = (
            TransformersStepModel(model) if isinstance(model, torch.nn.Module) else model
        )
        self.tokenizer = tokenizer
        self.stop_ids = frozenset(stop_ids if stop_ids is not None else _default_stop_ids(tokenizer))
        self._specials = {token: SpecialToken(name) for name, token in tokenizer.get_added_vocab().items()}
        self._cache = self.model.new_cache()
        self._cached_ids: list[int] = []
        self._cached_images: list[ImageSpan] = []

    @classmethod
    def for_model(cls, loaded: LoadedModel) -> DecodeLoop:
        """A loop over `load_model`'s result (or `load_scripted`'s), with its stop ids."""
        return cls(loaded.model, loaded.tokenizer, loaded.stop_ids)

    def reset(self) -> None:
        """Forget the cache; the next call runs its whole prompt."""
        self._cache = self.model.new_cache()
        self._cached_ids, self._cached_images = [], []

    def stream(
        self,
        prompt: PromptInputs,
        *,
        max_new_tokens: int = 512,
        sampling: SamplingParams = SamplingParams(),
        stop: Sequence[str] = (),
        constraint: Constraint | None = None,
    ) -> DecodeStream:
        """Start a call; iterate the result for text deltas, then read its `result`.

        Under a `constraint` the call always ends within `max_new_tokens`: a pick that would leave
        too little budget for the shortest completion is replaced by the completion's next token.
        """
        call = _Call(prompt, max_new_tokens, sampling, constraint, _TextStream(self.tokenizer, stop, self._specials))
        return DecodeStream(self._decode(call))

    def run(
        self,
        prompt: PromptInputs,
        *,
        max_new_tokens: int = 512,
        sampling: SamplingParams = SamplingParams(),
        stop: Sequence[str] = (),
        constraint: Constraint | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> DecodeResult:
        """`stream` to the end, handing each delta to `on_text`."""
        stream = self.stream(
            prompt, max_new_tokens=max_new_tokens, sampling=sampling, stop=stop, constraint=constraint
        )
        for delta in stream:
            if on_text is not None:
                on_text(delta)
        assert stream.result is not None
        return stream.result

    def _decode(self, call: _Call) -> Generator[str, None, DecodeResult]:
        pending, images = self._prefix_reuse(call)
        first = True
        while call.finish is None:
            dictated = self._dictated_tokens(call)
            if call.finish is not None:
                break
            if dictated:
                pending += dictated
                yield from call.append(dictated, forced=True, stop_ids=self.stop_ids)
                continue
            started = time.perf_counter()
            logits = self._forward(pending, images)
            token = self._pick(logits, call)
            elapsed = time.perf_counter() - started - call.step_mask_s
            if first:
                call.counters.prefill_s += elapsed
            else:
                call.counters.decode_s += elapsed
            first, pending, images = False, [token], []
            yield from call.append([token], forced=False, stop_ids=self.stop_ids)
        tail = call.finish_text()
        if tail:
            yield tail
        return call.result()

    def _prefix_reuse(self, call: _Call) -> tuple[list[int], list[ImageSpan]]:
        """Crop the cache to the longest reusable prefix; return what the prefill must still run."""
        ids = call.prompt.input_ids
        if not ids:
            raise ValueError("the prompt is empty")
        keep = _common_prefix(self._cached_ids, ids, len(ids) - 1)  # the last token must be run
        keep = _outside_changed_images(keep, call.prompt.images, self._cached_images)
        self.model.crop(self._cache, keep)
        self._cached_ids, self._cached_images = list(ids[:keep]), list(call.prompt.images)
        call.counters.prompt, call.counters.reused, call.counters.forwarded = (
            len(ids), keep, len(ids) - keep
        )
        return list(ids[keep:]), [
            dataclasses.replace(span, start=span.start - keep)
            for span in call.prompt.images
            if span.start >= keep
        ]

    def _forward(self, ids: list[int], images: list[ImageSpan]) -> torch.Tensor:
        try:
            logits = self.model.forward(self._cache, ids, images)
        except BaseException:
            self.reset()  # a half-updated cache would poison every later call
            raise
        self._cached_ids.extend(ids)
        return logits

    def _dictated_tokens(self, call: _Call) -> list[int]:
        """The constraint's completion when the budget would no longer fit it, else its forced tokens."""
        if call.constraint is None:
            if call.counters.generated >= call.max_new_tokens:
                call.finish = "length"
            return []
        with call.timing_mask():
            completion = call.constraint.completion()
            remaining = call.max_new_tokens - call.counters.generated
            call.budget_cut = call.budget_cut or len(completion) >= remaining
            tokens = completion if len(completion) >= remaining else call.constraint.forced()
            for token in tokens:
                if not call.constraint.advance(token):
                    raise ConstraintError(f"the constraint refused token {token} it dictated itself")
        if not tokens and remaining <= 0:
            call.finish = "length"
        return list(tokens)

    def _pick(self, logits: torch.Tensor, call: _Call) -> int:
        call.step_mask_s = 0.0
        if call.generator is None and call.sampling.seed is not None:
            call.generator = make_generator(call.sampling, logits.device)
        if call.constraint is None:
            return sample(logits, call.sampling, call.generator)
        with call.timing_mask(step=True):
            mask = call.constraint.mask()
        if not np.any(mask):
            raise ConstraintError("the constraint's mask allows no token")
        token = sample(logits, call.sampling, call.generator, mask)
        with call.timing_mask(step=True):
            if not call.constraint.advance(token):
                raise ConstraintError(f"the constraint refused token {token} that its mask allowed")
            if len(call.constraint.completion()) > call.max_new_tokens - call.counters.generated - 1:
                # this pick would leave too little budget to finish: take the completion's next token
                # instead (asked only here: a long completion costs its tokenisation on every ask)
                call.constraint.rollback(1)
                call.budget_cut, token = True, call.constraint.completion()[0]
                if not call.constraint.advance(token):
                    raise ConstraintError(f"the constraint refused token {token} of its own completion")
        return token


def _default_stop_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    return stop_token_ids(tokenizer) + eos


def _common_prefix(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    """Length of the longest common prefix of `a` and `b`, at most `limit`."""
    n = min(len(a), len(b), limit)
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _outside_changed_images(keep: int, images: Sequence[ImageSpan], old: Sequence[ImageSpan]) -> int:
    """Back `keep` up to the start of the first image it would cut or whose pixels changed.

    All `<|image_pad|>` ids are equal, so equal ids do not mean equal images: compare the spans.
    """
    previous = {span.start: span for span in old}
    for span in images:
        if span.start >= keep:
            break
        if span.start + span.length > keep or not _same_image(span, previous.get(span.start)):
            return span.start
    return keep


def _same_image(a: ImageSpan, b: ImageSpan | None) -> bool:
    if b is None:
        return False
    if a is b:
        return True
    return (
        a.length == b.length
        and torch.equal(a.image_grid_thw, b.image_grid_thw)
        and torch.equal(a.pixel_values, b.pixel_values)
    )


class _TextStream:
    """Token ids in, text deltas out: never ends inside a UTF-8 character or a possible stop string.

    Decodes a sliding window (the last emitted token onwards), as vLLM and TGI do, so each step costs
    O(1) and a token that ends mid-character waits for the token that completes it. A special token
    (any added token) flushes the text before it and comes out as a `SpecialToken` delta of its own.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stop: Sequence[str], specials: dict[int, SpecialToken]) -> None:
        self.tokenizer, self.specials = tokenizer, specials
        self.stop = [s for s in stop if s]
        self._partial = [_StopPrefix(s) for s in self.stop]
        self._fed = 0
        """Characters of `text` the `_partial` matchers have read."""
        self.ids: list[int] = []
        """The ordinary tokens since the last special one."""
        self.text = ""
        self.emitted = 0
        self._prefix_offset = 0
        self._read_offset = 0
        self.stopped = False

    def push(self, token_id: int) -> list[str]:
        """Add a token; return the text pieces that are now safe to show."""
        special = self.specials.get(token_id)
        if special is not None:
            flushed = self.finish()
            if self.stopped:
                return [flushed] if flushed else []
            self.ids, self._prefix_offset, self._read_offset = [], 0, 0
            self.text += special
            self.emitted = len(self.text)
            return [flushed, special] if flushed else [special]
        self.ids.append(token_id)
        before = self._decode(self.ids[self._prefix_offset : self._read_offset])
        after = self._decode(self.ids[self._prefix_offset :])
        if after.endswith("\ufffd") or len(after) <= len(before):
            return []
        searched = max(0, len(self.text) - max((len(s) for s in self.stop), default=0))
        self.text += after[len(before) :]
        self._prefix_offset, self._read_offset = self._read_offset, len(self.ids)
        self._cut_at_stop(searched)
        delta = self._release(self._safe_end())
        return [delta] if delta else []

    def finish(self) -> str:
        """The rest of the text, an incomplete trailing character included."""
        if not self.stopped:
            searched = max(0, len(self.text) - max((len(s) for s in self.stop), default=0))
            before = self._decode(self.ids[self._prefix_offset : self._read_offset])
            self.text += self._decode(self.ids[self._prefix_offset :])[len(before) :]
            self._prefix_offset = self._read_offset = len(self.ids)
            self._cut_at_stop(searched)
        return self._release(len(self.text))

    def _decode(self, ids: list[int]) -> str:
        return cast(str, self.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False))

    def _cut_at_stop(self, searched: int) -> None:
        hits = [i for i in (self.text.find(s, searched) for s in self.stop) if i >= 0]
        if hits:
            self.text, self.stopped = self.text[: min(hits)], True

    def _safe_end(self) -> int:
        """End of the text that cannot turn out to be the start of a stop string."""
        if self.stopped:
            return len(self.text)
        new, self._fed = self.text[self._fed :], len(self.text)
        return len(self.text) - max((partial.feed(new) for partial in self._partial), default=0)

    def _release(self, end: int) -> str:
        delta, self.emitted = self.text[self.emitted : end], max(self.emitted, end)
        return delta


class _StopPrefix:
    """How long a start of one stop string the text read so far ends with (Knuth-Morris-Pratt).

    Each character read costs O(1) amortised and the table O(len(stop)) once, so holding back what may
    become a stop string stays linear in the text and the stop string, however long either is; testing
    every prefix of the stop against the text's end on each token cost the square of its length.
    """

    def __init__(self, stop: str) -> None:
        self.stop = stop
        self.matched = 0
        self._fallback = [0] * len(stop)
        """`_fallback[i]`: the longest proper prefix of `stop[: i + 1]` that is also its suffix."""
        k = 0
        for i in range(1, len(stop)):
            while k and stop[i] != stop[k]:
                k = self._fallback[k - 1]
            k += stop[i] == stop[k]
            self._fallback[i] = k

    def feed(self, text: str) -> int:
        """Read `text`; return how many characters of the stop string the text now ends with."""
        stop, fallback, k = self.stop, self._fallback, self.matched
        for char in text:
            if k == len(stop):  # a whole match (the stream cuts there first): continue past it
                k = fallback[k - 1]
            while k and stop[k] != char:
                k = fallback[k - 1]
            k += stop[k] == char
        self.matched = k
        return k


class _Call:
    """The state of one call: options, generated tokens, text, counters."""

    def __init__(
        self,
        prompt: PromptInputs,
        max_new_tokens: int,
        sampling: SamplingParams,
        constraint: Constraint | None,
        text: _TextStream,
    ) -> None:
        self.prompt, self.max_new_tokens, self.sampling = prompt, max_new_tokens, sampling
        self.constraint, self.text = constraint, text
        self.generator: torch.Generator | None = None
        self.tokens: list[int] = []
        self.counters = DecodeCounters()
        self.finish: FinishReason | None = None
        self.budget_cut = False
        """The budget replaced a pick or forced the completion: the turn ends by `length`."""
        self.pieces: list[str] = []
        self.stop_token = False
        self.step_mask_s = 0.0

    def append(self, tokens: list[int], forced: bool, stop_ids: frozenset[int]) -> Iterator[str]:
        """Record new tokens, yield their text; stop at a stop id or stop string."""
        for token in tokens:
            self.tokens.append(token)
            self.counters.generated += 1
            self.counters.forced += int(forced)
            if token in stop_ids:
                self.finish, self.stop_token = "length" if self.budget_cut else "stop", True
                return
            for delta in self.text.push(token):
                self.pieces.append(delta)
                yield delta
            if self.text.stopped:
                self.finish = "stop_string"
                return

    def timing_mask(self, step: bool = False) -> _MaskTimer:
        return _MaskTimer(self, step)

    def finish_text(self) -> str:
        """The held-back tail of the text, recorded as the last piece."""
        tail = self.text.finish()
        if tail:
            self.pieces.append(tail)
        return tail

    def result(self) -> DecodeResult:
        assert self.finish is not None
        content = self.tokens[:-1] if self.stop_token else list(self.tokens)
        return DecodeResult(self.text.text, self.tokens, self.finish, self.counters, self.pieces, content)


class _MaskTimer:
    """Adds the time spent inside constraint calls to `mask_s` (and to the step's share of it)."""

    def __init__(self, call: _Call, step: bool) -> None:
        self.call, self.step = call, step

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self.started
        self.call.counters.mask_s += elapsed
        if self.step:
            self.call.step_mask_s += elapsed
