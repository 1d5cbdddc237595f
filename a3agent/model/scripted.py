"""A weightless model whose logits follow a script: A3-Instruct's failure modes, reproducibly, on CPU.

`ScriptedModel` is a `StepModel`, so `DecodeLoop` drives it exactly as it drives a real model, constraint
and all. Each assistant turn has a script: text as the model would write it after the generation prompt,
tokenised with the tokenizer (so `</think>` and `<tool_call>` are single ids) and ended by EOS.

At every step the logits rank the tokens, best first:
1. the script's next token (the cursor moves only when that token is emitted);
2. EOS: when the script's token is masked and the turn may end, ending is the plausible choice;
3. the tokens of the script's remaining text, in order, skipping those a detour already used;
4. a short list of common words, read cyclically from the one after the last word used, so the same
   word never comes twice in a row;
5. every other token by class: words (letters), then ASCII digits and punctuation, then whitespace,
   then other text and byte fragments, then special tokens; lower ids (more frequent in BPE) first,
   and tokens already used in this turn after those not yet used.
Unconstrained (greedy) decoding therefore prints the script verbatim; under a mask it writes text from
the script or common words, never a degenerate run of one token.

A turn may also name the call it means (the `drafted_call` turn drafts a GET request, but means
`get_weather(city="London")`), as the model card says A3-Instruct does. Once a grammar leaves no
room but a call (the script's token and EOS both masked), `<tool_call>` comes right after EOS in
the ranking; inside an open call the meant call's next token ranks first of all, matched on the text
written so far without regard to whitespace, so the call comes out with its real arguments in
whatever spacing the grammar allows.

A script file holds one turn, or several separated by a line `=== next turn ===`; a turn's text
may end with a line `=== meant call ===` and the call block it means. The prompt's assistant
turns (`<|im_start|>assistant\\n`) are counted: the n-th turn of a conversation follows the n-th script,
the last script serving every later turn. Not handled: prompts without ChatML assistant markers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

import torch
from transformers import PreTrainedTokenizerBase
from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLVisionConfig

from a3agent.model.images import image_processor
from a3agent.model.loading import LoadedModel
from a3agent.model.prompt import ImageSpan
from a3agent.model.template import template_for
from a3agent.model.tokenizer import offline_tokenizer, special_token_ids, stop_token_ids

__all__ = ["SCRIPT_NAMES", "ScriptedModel", "load_script", "load_scripted"]

SCRIPT_NAMES = ("empty_think", "drafted_call", "weather_episode", "image_drift")
"""Shipped scripts: the model card's two failure modes, a well-behaved tool-calling episode, and both
failure modes on an image task (`image_drift` drafts a crop request but means `crop(img_0, top-left quarter)`)."""

_TURN_SEPARATOR = "\n=== next turn ===\n"
_MEANT_SEPARATOR = "\n=== meant call ===\n"
_CALL_OPEN, _CALL_CLOSE = "<tool_call>", "</tool_call>"
_ASSISTANT_MARKER = "<|im_start|>assistant\n"
_GENERATION_PROMPTS = ("<think>\n\n</think>\n\n", "<think>\n")  # longest first
_COMMON_WORDS = (" the", " weather", " is", " and", " it", " in", " a", " London", ".", " of", " to")
_IN_CALL, _SCRIPT, _EOS, _MEANT, _REMAINING, _WORDS = 110.0, 100.0, 90.0, 85.0, 80.0, 70.0
_STEP = 1e-3
_USED_PENALTY = 1.5


def load_script(name: str) -> list[str]:
    """The per-turn texts of a shipped script. Example: load_script("empty_think")[0][:8] -> '</think>'"""
    return [text for text, _ in _read_script(name)]


def load_meant_calls(name: str) -> list[str | None]:
    """The call each turn of a shipped script means, None for a turn that means none."""
    return [meant for _, meant in _read_script(name)]


def _read_script(name: str) -> list[tuple[str, str | None]]:
    if name not in SCRIPT_NAMES:
        raise ValueError(f"unknown script {name!r}: choose one of {', '.join(SCRIPT_NAMES)}")
    text = resources.files("a3agent.model").joinpath(f"scripts/{name}.txt").read_text("utf-8")
    turns = [turn.partition(_MEANT_SEPARATOR) for turn in text.removesuffix("\n").split(_TURN_SEPARATOR)]
    return [(script, meant or None) for script, _, meant in turns]


def load_scripted(script: str | Sequence[str], tokenizer: PreTrainedTokenizerBase | None = None) -> LoadedModel:
    """A `LoadedModel` whose model is a `ScriptedModel`: a drop-in for `load_model` in tests and demos.

    `script` is a shipped script's name (`SCRIPT_NAMES`) or a list of per-turn texts. Images go through
    the A-series image processor (default Qwen3-VL patch sizes) and are then ignored by the model.
    """
    named = isinstance(script, str)
    if isinstance(script, str):
        model = ScriptedModel(load_script(script), tokenizer, meant_calls=load_meant_calls(script))
    else:
        model = ScriptedModel(script, tokenizer)
    return LoadedModel(
        tokenizer=model.tokenizer,
        model=model,
        image_processor=image_processor(Qwen3VLVisionConfig()),
        template=template_for(model.tokenizer),
        special_ids=special_token_ids(model.tokenizer),
        stop_ids=stop_token_ids(model.tokenizer),
        kind="artemis",
        source=f"scripted:{script if named else 'custom'}",
    )


@dataclass
class _Transcript:
    """A scripted model's cache: the ids seen so far and where its assistant markers start."""

    ids: list[int] = field(default_factory=list)
    markers: list[int] = field(default_factory=list)


class ScriptedModel:
    """A deterministic `StepModel` driven by per-turn scripts; needs a tokenizer, no weights.

    `turns` is one script or a list of them; `tokenizer` defaults to the offline A-series build;
    `meant_calls[i]` is the call block turn i means, if any. Images are accepted and ignored.
    """

    def __init__(
        self,
        turns: str | Sequence[str],
        tokenizer: PreTrainedTokenizerBase | None = None,
        meant_calls: Sequence[str | None] = (),
    ) -> None:
        self.tokenizer = tokenizer if tokenizer is not None else offline_tokenizer()
        self.eos_id: int = self.tokenizer.eos_token_id
        scripts = [turns] if isinstance(turns, str) else list(turns)
        if not scripts:
            raise ValueError("a scripted model needs at least one turn")
        self.turns = [self._encode(text) + [self.eos_id] for text in scripts]
        self.meant_calls = [*meant_calls, *[None] * (len(scripts) - len(meant_calls))]
        (self._call_open,), (self._call_close,) = self._encode(_CALL_OPEN), self._encode(_CALL_CLOSE)
        self._marker = self._encode(_ASSISTANT_MARKER)
        self._generation_prompts = [self._encode(p) for p in _GENERATION_PROMPTS]
        encoded_words = [self._encode(word) for word in _COMMON_WORDS]
        self._words = [ids[0] for ids in encoded_words if len(ids) == 1]
        self._base = _static_ranking(self.tokenizer)

    @classmethod
    def from_script(cls, name: str, tokenizer: PreTrainedTokenizerBase | None = None) -> ScriptedModel:
        """A model following the shipped script `name` (see `SCRIPT_NAMES`)."""
        return cls(load_script(name), tokenizer)

    def new_cache(self) -> _Transcript:
        return _Transcript()

    def crop(self, cache: _Transcript, length: int) -> None:
        del cache.ids[length:]
        cache.markers = [m for m in cache.markers if m + len(self._marker) <= length]

    def forward(self, cache: _Transcript, input_ids: Sequence[int], images: Sequence[ImageSpan]) -> torch.Tensor:
        scan_from = max(0, len(cache.ids) - len(self._marker) + 1)
        cache.ids.extend(input_ids)
        self._find_markers(cache, scan_from)
        if not cache.markers:
            raise ValueError(f"a scripted model needs a ChatML prompt ending in {_ASSISTANT_MARKER!r}")
        index = min(len(cache.markers), len(self.turns)) - 1
        return self._logits(self.turns[index], self.meant_calls[index], self._turn_tokens(cache))

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _find_markers(self, cache: _Transcript, start: int) -> None:
        marker, ids = self._marker, cache.ids
        for i in range(start, len(ids) - len(marker) + 1):
            if ids[i : i + len(marker)] == marker:
                cache.markers.append(i)

    def _turn_tokens(self, cache: _Transcript) -> list[int]:
        """What this turn has generated so far: the ids after the last marker and generation prompt."""
        turn = cache.ids[cache.markers[-1] + len(self._marker) :]
        for prompt in self._generation_prompts:
            if turn[: len(prompt)] == prompt:
                return turn[len(prompt) :]
        return turn

    def _logits(self, script: list[int], meant: str | None, turn: list[int]) -> torch.Tensor:
        cursor, remaining = _follow(script, turn)
        logits = self._base.clone()
        if turn:
            used = torch.tensor(turn, dtype=torch.long)
            logits[used] = self._base[used] - _USED_PENALTY
        _rank(logits, self._next_words(turn), _WORDS)
        _rank(logits, list(dict.fromkeys(script[remaining:])), _REMAINING)
        logits[self.eos_id] = _EOS
        if meant is not None and self._call_open not in turn:
            logits[self._call_open] = _MEANT
        logits[script[cursor]] = _SCRIPT
        if meant is not None and self._call_open in turn:
            _rank(logits, self._meant_next(meant, turn), _IN_CALL)
        return logits

    def _meant_next(self, meant: str, turn: list[int]) -> list[int]:
        """Tokens that go on with the meant call from what the open call holds so far; [] once it is closed
        or has strayed from the meant call."""
        start = len(turn) - turn[::-1].index(self._call_open)
        if self._call_close in turn[start:]:
            return []
        rest = _rest_after(meant.partition(_CALL_OPEN)[2], self.tokenizer.decode(turn[start:]))
        if not rest:
            return []
        return list(dict.fromkeys(self._encode(text)[0] for text in (rest, rest.lstrip()) if text))

    def _next_words(self, turn: list[int]) -> list[int]:
        """The common words, starting after the last one this turn used."""
        last = next((t for t in reversed(turn) if t in self._words), None)
        shift = 0 if last is None else self._words.index(last) + 1
        return self._words[shift:] + self._words[:shift]


def _follow(script: list[int], turn: list[int]) -> tuple[int, int]:
    """Replay a turn against its script: (cursor, start of the unused remaining text).

    A token equal to the script's next one moves the cursor; any other token is a detour, and if it
    occurs in the remaining text it uses that occurrence up, so the fallback reads on after it.
    Example: script [a, b, c, d], turn [b] -> (0, 2): `a` is still next, `c` heads the fallback.
    """
    cursor, remaining = 0, 1
    for token in turn:
        if cursor < len(script) - 1 and token == script[cursor]:
            cursor += 1
            remaining = max(remaining, cursor + 1)
            continue
        try:
            remaining = script.index(token, max(remaining, cursor + 1)) + 1
        except ValueError:
            pass
    return cursor, remaining


def _rest_after(target: str, written: str) -> str | None:
    """What is left of `target` once `written` is matched against it, whitespace aside; None if they differ.

    Example: _rest_after('{"city": "London"}', '{"city":"Lon') -> 'don"}'
    """
    at = 0
    for char in written:
        if char.isspace():
            continue
        while at < len(target) and target[at].isspace():
            at += 1
        if at == len(target) or target[at] != char:
            return None
        at += 1
    return target[at:]


def _rank(logits: torch.Tensor, tokens: list[int], top: float) -> None:
    """Give distinct `tokens` descending logits from `top`, the first one best."""
    if tokens:
        logits[torch.tensor(tokens)] = top - _STEP * torch.arange(len(tokens), dtype=logits.dtype)


_WORD = re.compile(r"^(Ġ|▁)?[A-Za-z]{2,}$")
_ASCII = re.compile(r"^(Ġ|▁)?[!-~]+$")
_SPACE = re.compile(r"^[ĠĊĉ▁\s]+$")


@functools.lru_cache(maxsize=4)
def _static_ranking(tokenizer: PreTrainedTokenizerBase) -> torch.Tensor:
    """Class-banded logits for every token (see the module docstring, rank 5); built once per tokenizer.

    Classes are read off the token strings, which spell spaces as `Ġ` (byte-level BPE) or `▁`
    (SentencePiece): a heuristic that suits Tekken and SentencePiece vocabularies alike.
    """
    size = len(tokenizer)
    names = tokenizer.convert_ids_to_tokens(list(range(size)))
    special = set(tokenizer.get_added_vocab().values())
    band = torch.empty(size)
    for i, name in enumerate(names):
        band[i] = _band(name or "", i in special)
    return band - torch.arange(size, dtype=torch.float32) / size


def _band(name: str, special: bool) -> float:
    if special:
        return -18.0
    if _WORD.match(name):
        return -10.0
    if _ASCII.match(name):
        return -12.0
    if _SPACE.match(name):
        return -14.0
    return -16.0
