"""The vocabulary as the engine sees it: every ordinary token as a byte string, specials apart.

Masks are decided on bytes, never on decoded strings: byte-level BPE tokens (Tekken) and
SentencePiece byte-fallback tokens (`<0xE2>`) can end inside a UTF-8 character. Added/special
tokens (`<think>`, `</s>`, ...) are kept out of the byte matrix: the engine allows them only where
the grammar names them as a literal, by id.

The numpy layout (rows sorted by first byte) lets a DFA walk the whole vocabulary column by column
(see `token_table.py`). Building it for Tekken takes a few seconds; the result is cached on disk
under the a3agent home, keyed by a hash of the tokenizer's vocabulary.

Not handled: tokenizers whose pieces are neither byte-level BPE nor SentencePiece-style (`▁`,
`<0xNN>`) — they raise `VocabularyError`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from a3agent.errors import VocabularyError
from a3agent.grammars.engine.token_trie import PrefixTree, TokenTrie, build_prefix_tree, build_trie
from a3agent.home import a3agent_home

__all__ = ["Vocabulary", "vocabulary_for"]


@dataclass(eq=False)
class Vocabulary:
    """Token ids mapped to bytes, with the specials and stop tokens apart.

    Example: `Vocabulary.from_pieces([b"a", b"b", None], {"</s>": 2}, stop_ids=[2])`.
    """

    size: int
    token_bytes: tuple[bytes | None, ...]
    specials: dict[str, int]
    stop_ids: tuple[int, ...] = ()
    fingerprint: str = ""
    # numpy layout, derived in __post_init__
    ids: np.ndarray = field(init=False, repr=False)
    lengths: np.ndarray = field(init=False, repr=False)
    matrix: np.ndarray = field(init=False, repr=False)
    first_byte_start: np.ndarray = field(init=False, repr=False)
    by_bytes: dict[bytes, int] = field(init=False, repr=False)
    max_len: int = field(init=False)
    owner: Any = field(default=None, init=False, repr=False)
    """The tokenizer this was built from (not pickled), for `tokenize`."""

    def __post_init__(self) -> None:
        ordinary = [(b, i) for i, b in enumerate(self.token_bytes) if b]
        ordinary.sort(key=lambda bi: (bi[0][0], len(bi[0])))
        self.max_len = max((len(b) for b, _ in ordinary), default=1)
        n = len(ordinary)
        self.ids = np.fromiter((i for _, i in ordinary), dtype=np.int32, count=n)
        self.lengths = np.fromiter((len(b) for b, _ in ordinary), dtype=np.int32, count=n)
        flat = np.frombuffer(b"".join(b.ljust(self.max_len, b"\0") for b, _ in ordinary), dtype=np.uint8)
        self.matrix = flat.reshape(n, self.max_len)
        firsts = self.matrix[:, 0] if n else np.zeros(0, np.uint8)
        self.first_byte_start = np.searchsorted(firsts, np.arange(257)).astype(np.int64)
        self.by_bytes = {}
        for b, i in sorted(ordinary, key=lambda bi: -bi[1]):
            self.by_bytes[b] = i  # lowest id wins for duplicate spellings

    @classmethod
    def from_pieces(
        cls, token_bytes: list[bytes | None], specials: dict[str, int], stop_ids: Sequence[int] = ()
    ) -> Vocabulary:
        """Build from explicit byte strings (None marks a special or unusable id)."""
        h = hashlib.sha256()
        for b in token_bytes:
            h.update(b"\xff" if b is None else len(b).to_bytes(2, "little") + b)
        h.update(repr(sorted(specials.items())).encode())
        return cls(len(token_bytes), tuple(token_bytes), dict(specials), tuple(stop_ids), h.hexdigest()[:16])

    @cached_property
    def trie(self) -> TokenTrie:
        """The rows as a level-by-level trie (`token_trie.py`), for walks over most of the vocabulary."""
        return build_trie(self.matrix, self.lengths)

    @cached_property
    def prefix_tree(self) -> PrefixTree:
        """The same trie numbered node by node, for walks that meet few nodes."""
        return build_prefix_tree(self.trie, self.ids)

    @cached_property
    def row_of_id(self) -> np.ndarray:
        """Token id -> its row in `matrix`; ids without bytes point one past the last row."""
        out = np.full(self.size, len(self.ids), dtype=np.int64)
        out[self.ids] = np.arange(len(self.ids))
        return out

    def __getstate__(self) -> dict:
        return {**self.__dict__, "owner": None}

    def tokenize(self, data: bytes) -> list[int]:
        """Tokens for forced or completion bytes: the tokenizer's own split where it spells
        exactly these bytes with ordinary tokens (so the next prompt re-encodes to the same
        ids and prefix reuse holds), else `encode_bytes`."""
        owner = self.owner
        if owner is not None and hasattr(owner, "get_vocab"):
            try:
                ids = owner.encode(data.decode("utf-8"), add_special_tokens=False)
            except UnicodeDecodeError:
                ids = None
            if ids is not None and all(0 <= i < self.size and self.token_bytes[i] for i in ids):
                if b"".join(self.token_bytes[i] for i in ids) == data:
                    return ids
        return self.encode_bytes(data)

    def encode_bytes(self, data: bytes) -> list[int]:
        """Greedy longest-match tokenization of raw bytes (forced text, completions).

        Any tokenization is legal for the matcher (a token is legal iff its bytes are), so the
        greedy one is enough; it needs single-byte tokens, which both Tekken and SentencePiece
        byte fallback have.
        """
        out, i = [], 0
        while i < len(data):
            for j in range(min(len(data), i + self.max_len), i, -1):
                tid = self.by_bytes.get(data[i:j])
                if tid is not None:
                    out.append(tid)
                    i = j
                    break
            else:
                raise VocabularyError(f"no token spells byte {data[i]:#04x}: this vocabulary cannot encode it")
        return out


def _gpt2_byte_decoder() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def _piece_to_bytes(piece: str, byte_level: bool, decoder: dict[str, int]) -> bytes:
    if byte_level:
        try:
            return bytes(decoder[c] for c in piece)
        except KeyError:
            raise VocabularyError(f"token {piece!r} is not a byte-level BPE piece") from None
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        return bytes([int(piece[3:5], 16)])
    return piece.replace("\u2581", " ").encode("utf-8")


def _is_byte_level(tokenizer: Any) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    return decoder is not None and "ByteLevel" in repr(decoder)


def _pieces_from_hf(tokenizer: Any) -> tuple[list[bytes | None], dict[str, int]]:
    vocab: dict[str, int] = tokenizer.get_vocab()
    size = max(len(tokenizer), max(vocab.values()) + 1)
    added = {i: t.content for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items()}
    specials = {content: i for i, content in added.items()}
    for content in getattr(tokenizer, "all_special_tokens", []):
        tid = tokenizer.convert_tokens_to_ids(content)
        if isinstance(tid, int) and tid >= 0:
            specials.setdefault(content, tid)
    special_ids = set(specials.values())
    byte_level = _is_byte_level(tokenizer)
    if not byte_level and not any(p.startswith("<0x") for p in vocab):
        raise VocabularyError(
            f"{type(tokenizer).__name__}: tokens are neither byte-level BPE nor SentencePiece with byte "
            "fallback, so they cannot be mapped to bytes; use a tokenizer of one of those kinds"
        )
    decoder = _gpt2_byte_decoder()
    pieces: list[bytes | None] = [None] * size
    for piece, tid in vocab.items():
        if tid not in special_ids:
            pieces[tid] = _piece_to_bytes(piece, byte_level, decoder)
    return pieces, specials


def _pieces_from_sentencepiece(sp: Any) -> tuple[list[bytes | None], dict[str, int]]:
    pieces: list[bytes | None] = []
    specials: dict[str, int] = {}
    for tid in range(sp.get_piece_size()):
        piece = sp.id_to_piece(tid)
        if sp.is_control(tid) or sp.is_unknown(tid):
            specials[piece] = tid
            pieces.append(None)
        else:
            pieces.append(_piece_to_bytes(piece, False, {}))
    return pieces, specials


def _stop_ids(tokenizer: Any, specials: dict[str, int]) -> list[int]:
    ids = []
    eos = getattr(tokenizer, "eos_token_id", None)
    if isinstance(eos, int):
        ids.append(eos)
    for marker in ("<|im_end|>",):
        if marker in specials:
            ids.append(specials[marker])
    return sorted(set(ids))


_MEMO: dict[int, Vocabulary] = {}


def vocabulary_for(tokenizer: Any) -> Vocabulary:
    """The `Vocabulary` of an HF tokenizer or a `sentencepiece.SentencePieceProcessor`.

    Memoised per tokenizer object, and cached on disk by a hash of the vocabulary so the
    second process loads it in a fraction of a second.
    """
    if isinstance(tokenizer, Vocabulary):
        return tokenizer
    memo = _MEMO.get(id(tokenizer))
    if memo is not None and memo.owner is tokenizer:
        return memo
    key = _cache_key(tokenizer)
    path = a3agent_home() / "vocab" / f"{key}-{_CACHE_FORMAT}.pkl"
    vocab = _load_cached(path)
    if vocab is None:
        if hasattr(tokenizer, "id_to_piece"):
            pieces, specials = _pieces_from_sentencepiece(tokenizer)
            stops = [tokenizer.eos_id()] if tokenizer.eos_id() >= 0 else []
        else:
            pieces, specials = _pieces_from_hf(tokenizer)
            stops = _stop_ids(tokenizer, specials)
        vocab = Vocabulary.from_pieces(pieces, specials, stops)
        _store(path, vocab)
    vocab.owner = tokenizer
    vocab.prefix_tree  # built here (trie included), with the rest of the preprocessing, rather than in a first mask
    _MEMO[id(tokenizer)] = vocab
    return vocab


def _cache_key(tokenizer: Any) -> str:
    h = hashlib.sha256()
    if hasattr(tokenizer, "serialized_model_proto"):
        h.update(tokenizer.serialized_model_proto())
    else:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None:
            h.update(backend.to_str().encode())
        else:
            h.update(repr(sorted(tokenizer.get_vocab().items())).encode())
        h.update(repr(getattr(tokenizer, "eos_token_id", None)).encode())
    return h.hexdigest()[:24]


_CACHE_FORMAT = "engine2"
"""Part of the cache file name: a new package layout or Vocabulary shape gets a new name."""


def _load_cached(path: Path) -> Vocabulary | None:
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None  # absent, damaged, or written by another layout of this package: rebuild


def _store(path: Path, vocab: Vocabulary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as f:
        pickle.dump(vocab, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(f.name, path)
