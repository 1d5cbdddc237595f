"""Compile grammar text into a `Grammar` over a tokenizer's vocabulary, with a compile cache.

The pipeline: the text is read into BNF rules (`ebnf.py`; lark for text beyond its part); each
terminal's regex becomes a byte DFA (`automata.py`, cached across grammars), with special-token
spellings cut out of ordinary terminals where asked; a
literal equal to a special token's text becomes that token id; terminals the text `%declare`s
come as automata already built (the schema compiler's key tries and digit automata, and the
JSON primitives, so lark never reads their long regexes); regular nonterminals made of short
terminals are fused into one terminal each (`fusion.py`), and the token table of each fused
terminal's start is computed now rather than at the first mask; then LALR(1) over what is left
(`lalr.py`, `lr.py`). Compiling the same text (and automata) for the same vocabulary twice returns the
same immutable `Grammar`.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from collections.abc import Mapping
from typing import Any, Iterator

from lark.lexer import PatternStr

from a3agent.grammars.engine.automata import ByteDFA, TerminalDFA, literal_dfa, regex_dfa, without_substrings
from a3agent.errors import GrammarTooComplex, MalformedGrammar
from a3agent.grammars.engine.grammar import Grammar
from a3agent.grammars.schema.json_schema import schema_source
from a3agent.grammars.engine.thinking import Thinking
from a3agent.grammars.dialects.turn import TurnOptions, turn_source
from a3agent.grammars.engine.fusion import fuse_regular_rules
from a3agent.grammars.engine.lr import LRTable, lark_meta_parser, load_rules
from a3agent.grammars.engine.token_table import token_table
from a3agent.grammars.engine.limits import check_count, compile_budget, limits
from a3agent.grammars.engine.vocab import Vocabulary, vocabulary_for


__all__ = ["compile_grammar", "compile_json_schema", "compile_turn", "CHAT_MARKERS"]

_CACHE: OrderedDict[tuple, Grammar] = OrderedDict()
_CACHE_SIZE = 16
"""Grammars kept: an application's tool sets and turn grammars. Each cached grammar keeps its
tables and memos alive, thousands of Python objects that every full garbage collection walks,
whichever call it pauses (64 kept made those pauses about twice as long on MaskBench,
`benchmarks/gc_pauses.py`)."""


def _prepare(tokenizer: Any) -> Vocabulary:
    """The once-per-process work a first compile would otherwise count against its time limit:
    the vocabulary (its trie and tables) and lark's own meta parser."""
    lark_meta_parser()
    return vocabulary_for(tokenizer)


def compile_grammar(
    text: str,
    tokenizer: Any,
    forbid_special_text: tuple[str, ...] = (),
    thinking: Thinking | None = None,
    automata: Mapping[str, TerminalDFA] | None = None,
) -> Grammar:
    """Compile lark `text` (start rule `start`) for `tokenizer` (HF, SentencePiece or Vocabulary).

    `forbid_special_text`: special-token spellings that no ordinary terminal may contain, so text
    the model writes can never re-tokenise into a special (chat markers, `<tool_call>`...).
    `thinking`: the think-block budget, for grammars that start inside `<think>`.
    `automata`: the terminals `text` `%declare`s, as automata built directly (schema grammars).
    """
    vocab = _prepare(tokenizer)
    given = tuple(sorted((automata or {}).items(), key=lambda item: item[0]))
    key = (text, vocab.fingerprint, forbid_special_text, thinking, given)
    grammar = _CACHE.get(key)
    if grammar is not None:
        _CACHE.move_to_end(key)
        return grammar
    with compile_budget(), _typed_overflow():
        grammar = _compile(text, vocab, forbid_special_text, thinking, dict(given))
    _CACHE[key] = grammar
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return grammar


@contextmanager
def _typed_overflow() -> Iterator[None]:
    """The last line of defence of the cost bound: Python's own recursion and memory limits
    become `GrammarTooComplex`, so no compile ever ends in an untyped error."""
    try:
        yield
    except RecursionError as e:
        raise GrammarTooComplex("", "schema_depth", limits().schema_depth, "nesting too deep for the compiler") from e
    except MemoryError as e:
        raise GrammarTooComplex("", "compile_work", limits().compile_work, "out of memory") from e


def _compile(
    text: str, vocab: Vocabulary, forbid_special_text: tuple[str, ...], thinking: Thinking | None,
    automata: dict[str, TerminalDFA],
) -> Grammar:
    check_count(len(text), "grammar_text", "", "the grammar text")
    terminals, rules = load_rules(text)
    check_count(len(rules), "grammar_rules", "", "the grammar's rules")
    check_count(max((len(r.expansion) for r in rules), default=0), "rule_symbols", "", "the longest grammar rule")
    check_count(sum(len(r.expansion) for r in rules), "grammar_symbols", "", "the grammar's rules")
    forbidden = tuple(sorted(s.encode() for s in forbid_special_text))
    dfas: dict[str, TerminalDFA] = {name: without_substrings(dfa, forbidden) for name, dfa in automata.items()}
    specials: dict[str, int] = {}
    for definition in terminals:
        name, pattern = definition.name, definition.pattern
        if pattern.flags:
            raise MalformedGrammar(f"terminal {name}: regex flags {sorted(pattern.flags)} are not supported")
        if isinstance(pattern, PatternStr) and pattern.value in vocab.specials:
            specials[name] = vocab.specials[pattern.value]
            continue
        dfa: TerminalDFA
        if isinstance(pattern, PatternStr):
            dfa = literal_dfa(pattern.value.encode())
        else:
            dfa = regex_dfa(pattern.value)
        dfas[name] = without_substrings(dfa, forbidden) if forbidden else dfa
    rules, fused = fuse_regular_rules(rules, {name: dfa for name, dfa in dfas.items() if isinstance(dfa, ByteDFA)})
    dfas.update((name, without_substrings(dfa, forbidden) if forbidden else dfa) for name, dfa in fused.items())
    table = LRTable.from_rules(rules)
    undefined = sorted(table.terminals - dfas.keys() - specials.keys())
    if undefined:
        raise MalformedGrammar(f"terminals {undefined} are %declare'd but no automaton was given for them")
    dfas = {name: dfa for name, dfa in dfas.items() if name in table.terminals}
    specials = {name: token for name, token in specials.items() if name in table.terminals}
    for name in fused:  # new automata: their first token tables are compile-time work
        if name in dfas:
            token_table(vocab, dfas[name], 0)
    grammar = Grammar(text, table, dfas, specials, vocab, thinking)
    grammar.completion(grammar.initial)  # the shortest-completion tables, within the budget
    return grammar


def compile_json_schema(schema: dict | bool, tokenizer: Any) -> Grammar:
    """The grammar of JSON texts valid under `schema` (the entry point outside harnesses drive).

    Raises `UnsupportedSchema` (naming the JSON path and keyword) or `UnsatisfiableSchema`
    rather than relax a constraint.
    """
    _prepare(tokenizer)
    with compile_budget(), _typed_overflow():
        source = schema_source(schema)
        return compile_grammar(source.text, tokenizer, automata=source.automata)


CHAT_MARKERS = (
    "<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
    "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>", "<|im_start|>", "<|im_end|>",
    "<|endoftext|>", "<s>", "</s>",
)  # fmt: skip
"""Spellings that model-written text must never contain, whether or not the tokenizer has them
as specials: the template would otherwise read them back as structure."""


def compile_turn(
    tools: list[dict], tokenizer: Any, options: TurnOptions | None = None, thinking: Thinking | None = None
) -> Grammar:
    """The grammar of one assistant turn: think block, then text and/or tool calls.

    `tools` are `{"name", "description", "parameters"}` dicts; `options` picks the dialect,
    tool_choice, parallel calls and whether the prompt opened `<think>`; `thinking` bounds the
    think block in tokens (default `Thinking()` when thinking is on).
    """
    options = options or TurnOptions()
    if options.thinking and thinking is None:
        thinking = Thinking()
    _prepare(tokenizer)
    with compile_budget(), _typed_overflow():
        source = turn_source(tools, options)
        return compile_grammar(source.text, tokenizer, CHAT_MARKERS, thinking if options.thinking else None, source.automata)
