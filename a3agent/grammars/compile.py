"""Compile grammar text into a `Grammar` over a tokenizer's vocabulary, with a compile cache.

The pipeline: lark loads the text and computes LALR(1) (`lr.py`); each terminal's regex becomes a
byte DFA (`automata.py`, cached across grammars), with special-token spellings cut out of ordinary
terminals where asked; a literal equal to a special token's text becomes that token id. Compiling
the same text for the same vocabulary twice returns the same immutable `Grammar`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from lark.lexer import PatternStr

from a3agent.grammars.automata import ByteDFA, literal_dfa, regex_dfa, without_substrings
from a3agent.errors import MalformedGrammar
from a3agent.grammars.grammar import Grammar
from a3agent.grammars.thinking import Thinking
from a3agent.grammars.lr import LRTable
from a3agent.grammars.vocab import vocabulary_for

__all__ = ["compile_grammar"]

_CACHE: OrderedDict[tuple, Grammar] = OrderedDict()
_CACHE_SIZE = 256


def compile_grammar(
    text: str, tokenizer: Any, forbid_special_text: tuple[str, ...] = (), thinking: Thinking | None = None
) -> Grammar:
    """Compile lark `text` (start rule `start`) for `tokenizer` (HF, SentencePiece or Vocabulary).

    `forbid_special_text`: special-token spellings that no ordinary terminal may contain, so text
    the model writes can never re-tokenise into a special (chat markers, `<tool_call>`...).
    `thinking`: the think-block budget, for grammars that start inside `<think>`.
    """
    vocab = vocabulary_for(tokenizer)
    key = (text, vocab.fingerprint, forbid_special_text, thinking)
    grammar = _CACHE.get(key)
    if grammar is not None:
        _CACHE.move_to_end(key)
        return grammar
    table = LRTable.from_lark(text)
    forbidden = tuple(sorted(s.encode() for s in forbid_special_text))
    dfas: dict[str, ByteDFA] = {}
    specials: dict[str, int] = {}
    for name, definition in table.terminals.items():
        pattern = definition.pattern
        if pattern.flags:
            raise MalformedGrammar(f"terminal {name}: regex flags {sorted(pattern.flags)} are not supported")
        if isinstance(pattern, PatternStr) and pattern.value in vocab.specials:
            specials[name] = vocab.specials[pattern.value]
            continue
        if isinstance(pattern, PatternStr):
            dfa = literal_dfa(pattern.value.encode())
        else:
            dfa = regex_dfa(pattern.value)
        dfas[name] = without_substrings(dfa, forbidden) if forbidden else dfa
    grammar = Grammar(text, table, dfas, specials, vocab, thinking)
    _CACHE[key] = grammar
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return grammar
