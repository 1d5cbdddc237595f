"""A compiled grammar: which tokens may come next, for any configuration of the recogniser.

How the engine works (the whole design in one place):

- **Configuration.** A set of hypotheses `(stack, terminal, dfa_state)`: an LR stack (see
  `lr.py`) and a terminal being lexed, already `dfa_state` into its byte DFA. `terminal = None`
  marks a boundary (nothing lexed yet after `stack`). A hypothesis whose DFA state accepts stands
  for both "the terminal goes on" and "it ended here": the lexer never commits early (no maximal
  munch), and the parser is asked only when a terminal ends (`LRTable.feed`, memoised).
- **Bytes.** `step(config, byte)` is the one transition everything else is defined by: a token is
  legal iff stepping through its bytes never empties the configuration. Special tokens are not
  bytes: a special id is legal iff a boundary stack can shift the literal terminal it stands for.
- **Terminals are as large as the grammar allows.** At compile time, regular nonterminals made of
  short terminals (keys other than the declared names, bounded numbers) are fused into one
  terminal each (`fusion.py`), so tokens rarely cross a terminal end.
- **Masks.** For each hypothesis, the precomputed `TokenTable` of its DFA state gives the tokens
  read entirely inside the terminal (no parser question) and the tokens that end the terminal
  midway, by first suffix byte. Only the suffix bytes that can start a terminal the parser takes
  next are looked at: for each such terminal, a suffix table (`suffix_table`, no parser question
  either) says which of those suffixes end inside it and which end it midway again; only the
  latter ask the parser, one level further. From a boundary, the same is done for the start
  state of each terminal the stack can shift. Token and suffix tables are shared across grammars
  by sub-automaton signature (`token_table.py`); split results are cached per (stack, terminal,
  table). A mask is kept by the serials of the tables its tokens come from, in an LRU shared by
  every grammar and matcher: the same few configurations recur all along a JSON document, and
  configurations of different grammars often come to the same tables. These caches, and those of
  forced and completion tokens, are bounded in bytes for the whole process (`_WHOLE_MASK_BYTES`,
  `_SPLIT_IDS_BYTES`, `_TOKENS_BYTES`), so the compile cache's grammars cannot multiply them.
- **Forced text.** Where only one byte (or one special) can follow, it is forced; runs of forced
  bytes are tokenised greedily for the decode loop's fast-forward.
- **Completion.** The fewest bytes to finish: the terminal in progress to its nearest accepting
  state, then the parser stack unwound with per-grammar tables of shortest yields
  (`completion.py`), linear in the stack depth.

A `Grammar` is immutable once compiled: its caches only memoise pure functions, so any number of
matchers (batched decoding, concurrent agents) share it.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import sys
from collections import OrderedDict
from functools import cached_property
from collections.abc import Hashable, Iterable
from typing import Iterator, cast

import numpy as np

from a3agent.errors import GrammarTooComplex, MalformedGrammar
from a3agent.grammars.engine.automata import TerminalDFA
from a3agent.grammars.engine.completion import Completer, Piece
from a3agent.grammars.engine.limits import limits
from a3agent.grammars.engine.lr import LRTable, Stack
from a3agent.grammars.engine.matcher import Matcher
from a3agent.grammars.engine.thinking import Thinking
from a3agent.grammars.engine.token_table import TokenTable, suffix_table, token_table
from a3agent.grammars.engine.vocab import Vocabulary

__all__ = ["Grammar", "Config", "Piece"]

Hypothesis = tuple[Stack, str | None, int]
_Start = tuple[Stack, str, int]
"""A hypothesis that has begun a terminal (what `_starts` holds, flat)."""
Config = tuple
"""A configuration: its distinct hypotheses in sorted order, flat (stack, terminal, state, then the
next hypothesis's three; `_hyps` reads them back). Its items are shared stacks, strings and ints,
so Python's collector untracks it at the first collection it meets, wherever it is kept (a tuple
of hypothesis tuples held by an old memo was untracked a level per collection and reached the
oldest generation, which every full collection walks). Never hashed itself (its stacks would be
walked whole): memos are keyed by `_key(config)`."""
ConfigKey = tuple
"""A configuration as stack serial, terminal or "", automaton state, hypothesis after hypothesis, in
one flat tuple: ints and strings only, so the collector untracks it at its first collection
wherever it is kept (a tuple of tuples held by an old memo is reordered behind its children by the
collector and untracked a level per collection, long enough to reach the oldest generation)."""


def _hyps(flat: tuple) -> Iterator[Hypothesis]:
    """The hypotheses of a flat configuration (or of `_starts`' flat result), three items each."""
    items = iter(flat)
    return zip(items, items, items)


def _config(hyps: Iterable[Hypothesis]) -> Config:
    distinct = {(stack[0], term or "", state): (stack, term, state) for stack, term, state in hyps}
    if len(distinct) < 2:
        return next(iter(distinct.values()), ())
    return tuple([x for k in sorted(distinct) for x in distinct[k]])


def _key(config: Config) -> ConfigKey:
    if len(config) == 3:
        stack, term, state = config
        return (stack[0], term or "", state)
    return tuple([x for stack, term, state in _hyps(config) for x in (stack[0], term or "", state)])


_WHOLE_MASK_BYTES = 64 << 20
"""Masks kept for every grammar of the process together, the most recent (128 KiB each for Tekken,
512 of them): the same few configurations recur all along a document, and handing one out is a
lookup. One asked for again after it left is computed again from the token tables and split
results, which are cached apart (37 µs on average on MaskBench configurations, against 19 µs to
unpack a packed copy, but a copy costs a 20-40 µs pack whenever a mask recurs: a packed tier was
read back 49 times in 17,205 calls and cost 7 % of the mask mean). Bounded, so the memory of the
masks that leave is reused rather than fresh; per process, not per grammar, so the compile
cache's grammars cannot multiply it."""
_TOKENS_BYTES = 16 << 20
"""Forced and completion tokens kept per configuration, for every grammar together (each of the
two caches): a completion is as long as what is left to write, all 100 kB of a `const` among
them, so the bound is in bytes, not entries (4,096 entries each grammar kept 1.1 GB there)."""
_STEP_CACHE_SIZE = 50_000
"""Entries each per-grammar memo of steps, stacks' starts, stacks' shiftable terminals and split
serials holds before it starts afresh (an ever-deeper document brings a new stack with every bracket)."""
_MASK_KEYS = 4_096
"""Configurations whose mask keys a grammar remembers before it starts afresh: a key is worth
keeping only while its mask is among the 512 that `_WHOLE_MASKS` holds for every grammar, and one
forgotten is made again from the memoised tables and split results."""
_SPLIT_IDS_BYTES = 32 << 20
"""Viable split tokens kept per (stack, terminal, table), for every grammar together (a few
hundred ids each as a rule; stack serials are unique across grammars), and the joined ids of
the suffix tables they are made of (`_joined`)."""
_ENTRY_BYTES = 256
"""What a cache entry costs beside its array (key, dictionary slot): an empty array counts too."""
_NO_IDS = np.zeros(0, np.int64)
_CLEARED_IDS = 1_000
"""True entries up to which a recycled mask is cleared id by id rather than whole (`spare`): past
about that many, scattered writes to cold memory cost more than one pass over it. The ids kept for
that are arrays the mask was built from, so they add at most 8 KB to each kept mask."""


_SPELLED_SERIALS = 8
"""Serials up to which a set of tables is named by the serials themselves; a larger set (the key
literals after a `,` of an object with hundreds of properties) by one digest of them, so keys
stay small however many tables a mask or a split result is made of."""
_DIGEST_TAG = 1 << 127
"""Set in every digest that names a set of serials: table serials are far smaller, so a digest
never equals a serial."""


def _named(serials: Iterable[int]) -> tuple[int, ...]:
    """A set of table serials (or of names of such sets) as a short sorted tuple of ints that names
    it (`_SPELLED_SERIALS`)."""
    ordered = sorted(set(serials))
    if len(ordered) <= _SPELLED_SERIALS:
        return tuple(ordered)
    digest = hashlib.blake2b(repr(ordered).encode(), digest_size=16).digest()
    return (int.from_bytes(digest, "big") | _DIGEST_TAG,)


def _joined(tables: list[TokenTable]) -> tuple[tuple[int, ...], np.ndarray]:
    """The name of a set of suffix tables (`_named`) and their inside ids, one after the other
    (kept by that name: the same few suffix tables follow a `:` or a `,` in every grammar, so a
    split result is mostly one seen before, and its thousands of ids need not be copied again).
    Each table holds at least one id, so a name is never larger than the ids it is kept with."""
    distinct = {t.serial: t for t in tables}
    name = _named(distinct)
    if len(distinct) < 2:
        return name, tables[0].inside_ids if tables else _NO_IDS
    ids = _SPLIT_IDS.get(name)
    if ids is None:
        ids = np.concatenate([distinct[s].inside_ids for s in sorted(distinct)])
        _SPLIT_IDS.put(name, ids)
    return name, ids


class _ByteBoundedLRU:
    """Arrays by key, least recently used out once their bytes pass `limit` (shared by grammars).

    With `spares`, up to that many evicted arrays that nobody else holds (no view, no caller)
    are kept for `spare()`: a fresh 128 KiB mask is above the allocator's mmap threshold, so
    each `np.zeros` would fault its pages in again (19 µs against 2.6 for clearing a spare).
    An array put with the ids it was written at (`written`) is cleared there alone when it is
    reused: an evicted mask was last touched hundreds of masks ago, and clearing all 128 KiB of
    cold memory costs 10-20 µs where a few hundred ids cost a few."""

    def __init__(self, limit: int, spares: int = 0) -> None:
        self.limit = limit
        self.used = 0
        self.items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self.written: dict[Hashable, tuple[np.ndarray, ...]] = {}
        self.spares: list[tuple[np.ndarray, tuple[np.ndarray, ...] | None]] = []
        self.max_spares = spares

    def spare(self, size: int, start: np.ndarray | None = None) -> np.ndarray:
        """A writable bool array of `size`, all False or a copy of `start`, recycled when one is
        spare (starting from a copy spares a pass over the array)."""
        while self.spares:
            mask, written = self.spares.pop()
            if mask.size == size:
                mask.flags.writeable = True
                if start is not None:
                    np.copyto(mask, start)
                elif written is None:
                    mask.fill(False)
                else:
                    for ids in written:
                        mask[ids] = False
                return mask
        return np.zeros(size, dtype=bool) if start is None else start.copy()

    def get(self, key: Hashable) -> np.ndarray | None:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: np.ndarray, written: tuple[np.ndarray, ...] | None = None) -> None:
        """Keep `value`; `written`: ids that hold all its True entries, if few (see `spare`)."""
        old = self.items.pop(key, None)
        self.written.pop(key, None)
        self.used += value.nbytes + (_ENTRY_BYTES if old is None else -old.nbytes)
        self.items[key] = value
        if written is not None:
            self.written[key] = written
        while self.used > self.limit and self.items:
            gone, evicted = self.items.popitem(last=False)
            ids = self.written.pop(gone, None)
            self.used -= evicted.nbytes + _ENTRY_BYTES
            # two references: `evicted` and getrefcount's argument; a caller's would make three
            if len(self.spares) < self.max_spares and evicted.base is None and sys.getrefcount(evicted) == 2:
                self.spares.append((evicted, ids))


_WHOLE_MASKS = _ByteBoundedLRU(_WHOLE_MASK_BYTES, spares=4)
_SPLIT_IDS = _ByteBoundedLRU(_SPLIT_IDS_BYTES)
_COMPLETION_TOKENS = _ByteBoundedLRU(_TOKENS_BYTES)
_FORCED_TOKENS = _ByteBoundedLRU(_TOKENS_BYTES)
_SERIALS = itertools.count()
"""Grammar serial numbers: the mask caches' keys (an id() could be reused by a later grammar)."""


class Grammar:
    """A compiled grammar over one vocabulary; `matcher()` gives a fresh incremental matcher."""

    def __init__(
        self,
        text: str,
        table: LRTable,
        dfas: dict[str, TerminalDFA],
        specials: dict[str, int],
        vocab: Vocabulary,
        thinking: Thinking | None = None,
    ) -> None:
        self.text = text
        self.thinking = thinking
        self.think_end = vocab.specials.get("</think>") if thinking else None
        self.vocab = vocab
        self.table = table
        self.dfas = dfas
        self.special_terminals = specials
        self.stop_ids = vocab.stop_ids
        self.initial: Config = (table.initial, None, 0)
        self._serial = next(_SERIALS)
        self._steps: dict[tuple[ConfigKey, int], ConfigKey] = {}
        self._configs: dict[ConfigKey, Config] = {}
        """The configurations `_steps` leads to, one per key (apart, so that each memo value is a
        single flat tuple, which the collector untracks at the first collection it meets)."""
        self._shiftables: dict[int, tuple[str, ...]] = {}
        self._starts_memo: dict[tuple[int, int], tuple] = {}
        self._start_terms_memo: dict[int, dict[int, tuple[str, ...]]] = {}
        self._vocab_key = (vocab.fingerprint, vocab.size, vocab.stop_ids)
        """What a mask key holds of the vocabulary: the table serials name the rest."""
        self._mask_keys: dict[ConfigKey, tuple] = {}
        """Each configuration's mask key (`mask`): the serials of the tables it is made of."""
        self._split_serials: dict[tuple[int, str, int], tuple[int, ...]] = {}
        """`_split_tokens`' names of suffix-table sets (`_named`) by (stack serial, terminal, table serial)."""

    def __repr__(self) -> str:
        return f"<Grammar: {len(self.dfas)} terminals, {len(self.special_terminals)} special>"

    def matcher(self) -> Matcher:
        """A new matcher at the start of the grammar."""
        return Matcher(self)

    # -- transitions ------------------------------------------------------------------------

    def _boundaries(self, hyp: Hypothesis) -> Iterator[Stack]:
        """Stacks at which a new terminal may start, given this hypothesis."""
        stack, term, state = hyp
        if term is None:
            yield stack
        elif self.dfas[term].accepting[state]:
            yield from self.table.feed(stack, term)

    def _shiftable(self, stack: Stack) -> tuple[str, ...]:
        """The terminals `stack` can really shift (memoised; a terminal its top state shifts needs
        no parser simulation)."""
        out = self._shiftables.get(stack[0])
        if out is None:
            if len(self._shiftables) > _STEP_CACHE_SIZE:
                self._shiftables.clear()
            table, top = self.table, stack[1]
            out = self._shiftables[stack[0]] = tuple(
                term for term in table.expected(top) if table.shifts(top, term) or table.feed(stack, term)
            )
        return out

    def step(self, config: Config, byte: int) -> Config:
        """The configuration after one more ordinary byte (empty: illegal)."""
        return self._keyed_step(config, _key(config), byte)[0]

    def _keyed_step(self, config: Config, key: ConfigKey, byte: int) -> tuple[Config, ConfigKey]:
        """`step` of a configuration whose key is known, with the key of the result (memoised)."""
        after_key = self._steps.get((key, byte))
        if after_key is None:
            if len(self._steps) > _STEP_CACHE_SIZE:
                self._steps.clear()
                self._configs.clear()
            after = _config(self._step(config, byte))
            after_key = self._steps[(key, byte)] = _key(after)
            self._configs.setdefault(after_key, after)
        return self._configs[after_key], after_key

    def _step(self, config: Config, byte: int) -> Iterator[Hypothesis]:
        for stack, term, state in _hyps(config):
            if term is None:
                yield from _hyps(self._starts(stack, byte))
                continue
            dfa = self.dfas[term]
            nxt = dfa.rows[state][byte]
            if nxt >= 0:
                yield (stack, term, nxt)
            if dfa.accepting[state]:
                for boundary in self.table.feed(stack, term):
                    yield from _hyps(self._starts(boundary, byte))

    def _start_terms(self, top: int) -> dict[int, tuple[str, ...]]:
        """By first byte: the terminals LR state `top` has an action for whose automaton can
        begin with that byte (memoised per state; a superset of what a stack can really shift)."""
        out = self._start_terms_memo.get(top)
        if out is None:
            by_byte: dict[int, list[str]] = {}
            for term in self.table.expected(top):
                dfa = self.dfas.get(term)
                if dfa is not None:
                    for b in dfa.next_bytes[0]:
                        by_byte.setdefault(b, []).append(term)
            out = self._start_terms_memo[top] = {b: tuple(terms) for b, terms in by_byte.items()}
        return out

    def _starts(self, stack: Stack, byte: int) -> tuple:
        """The hypotheses that begin, with `byte`, a terminal `stack` can really shift, flat like a
        configuration (memoised: only the terminals that start with this byte are fed to the
        parser, not all it expects)."""
        key = (stack[0], byte)
        out = self._starts_memo.get(key)
        if out is None:
            if len(self._starts_memo) > _STEP_CACHE_SIZE:
                self._starts_memo.clear()
            found: list = []
            table, top = self.table, stack[1]
            for term in self._start_terms(top).get(byte, ()):
                if table.shifts(top, term) or table.feed(stack, term):
                    found += (stack, term, self.dfas[term].rows[0][byte])
            out = self._starts_memo[key] = tuple(found)
        return out

    def step_special(self, config: Config, token_id: int) -> Config:
        """The configuration after a special token (empty: illegal here)."""
        out: list[Hypothesis] = []
        for hyp in _hyps(config):
            for boundary in self._boundaries(hyp):
                for term in self._shiftable(boundary):
                    if self.special_terminals.get(term) == token_id:
                        out.extend((s, None, 0) for s in self.table.feed(boundary, term))
        return _config(out)

    def advance(self, config: Config, token_id: int) -> Config:
        """The configuration after a token (empty: illegal)."""
        data = self.vocab.token_bytes[token_id] if 0 <= token_id < self.vocab.size else None
        if data is None:
            return self.step_special(config, token_id)
        key = _key(config)
        for b in data:
            config, key = self._keyed_step(config, key, b)
            if not config:
                break
        return config

    def accepting(self, config: Config) -> bool:
        """True if the text so far is a whole sentence (a stop token is legal)."""
        return any(self.table.accepts(b) for hyp in _hyps(config) for b in self._boundaries(hyp))

    # -- masks --------------------------------------------------------------------------------

    def mask(self, config: Config) -> np.ndarray:
        """Bool mask over the vocabulary of the tokens legal in `config` (read-only; the most
        recent are kept, for every grammar together).

        A mask is the union of the inside tokens of some token tables, and each table's serial
        names its contents; so masks are kept by the serials they are made of (`_parts`, `_named`),
        and a configuration of this grammar (or another) that comes to the same tables is handed
        the same array: at a string value's end or after a `,`, most grammars meet tables some
        grammar met before. `_mask_keys` remembers each configuration's key, so a revisit is two
        lookups."""
        config_key = _key(config)
        shared = self._mask_keys.get(config_key)
        if shared is not None:
            mask = _WHOLE_MASKS.get(shared)
            if mask is not None:
                return mask
        inside, splits, specials, accepting = self._parts(config)
        serials = [t.serial for t in inside]
        for names, _ in splits:
            serials.extend(names)
        shared = (self._vocab_key, _named(serials), _named(specials), accepting)
        if len(self._mask_keys) > _MASK_KEYS:
            self._mask_keys.clear()
        self._mask_keys[config_key] = shared
        mask = _WHOLE_MASKS.get(shared)
        if mask is None:
            mask, written = self._assemble(inside, [ids for _, ids in splits], specials, accepting)
            mask.flags.writeable = False
            _WHOLE_MASKS.put(shared, mask, written)
        return mask

    def _parts(
        self, config: Config
    ) -> tuple[list[TokenTable], list[tuple[tuple[int, ...], np.ndarray]], list[int], bool]:
        """What `config`'s mask is made of: the tables whose inside tokens it holds, the split
        results (the names of their suffix tables, `_named`, and their ids), the special ids, and
        whether it accepts."""
        inside: list[TokenTable] = []
        splits: list[tuple[tuple[int, ...], np.ndarray]] = []
        specials: list[int] = []
        accepting = False
        for hyp in _hyps(config):
            stack, term, state = hyp
            if term is not None:
                table = token_table(self.vocab, self.dfas[term], state)
                inside.append(table)
                if table.split_ranges:
                    splits.append(self._split_tokens(table, stack, term))
            for boundary in self._boundaries(hyp):
                accepting = accepting or self.table.accepts(boundary)
                for term2 in self._shiftable(boundary):
                    special = self.special_terminals.get(term2)
                    if special is not None:
                        specials.append(special)
                        continue
                    table = token_table(self.vocab, self.dfas[term2], 0)
                    inside.append(table)
                    if table.split_ranges:
                        splits.append(self._split_tokens(table, boundary, term2))
        return inside, splits, specials, accepting

    def _assemble(
        self, inside: list[TokenTable], split_ids: list[np.ndarray], specials: list[int], accepting: bool
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """The mask from its parts, and the ids it was written at when they are few (None: it was
        filled from a dense table, or it holds many tokens)."""
        # a dense table's inside tokens are copied in, not OR-ed into a cleared mask
        dense = next((table.inside_mask for table in inside if table.inside_mask is not None), None)
        mask = _WHOLE_MASKS.spare(self.vocab.size, dense)
        written: list[np.ndarray] | None = None if dense is not None else []
        for table in inside:
            if table.inside_mask is None or table.inside_mask is not dense:
                table.add_inside(mask)
                if written is not None:
                    written.append(table.inside_ids)
        for ids in split_ids:
            if len(ids):
                mask[ids] = True
                if written is not None:
                    written.append(ids)
        if specials:
            mask[specials] = True
        if accepting:
            mask[list(self.stop_ids)] = True
        if written is None or sum(map(len, written)) + len(specials) + len(self.stop_ids) > _CLEARED_IDS:
            return mask, None
        return mask, (*written, np.array(specials + list(self.stop_ids), np.int64))

    def _split_tokens(self, table: TokenTable, stack: Stack, term: str) -> tuple[tuple[int, ...], np.ndarray]:
        """The split tokens of `table` that stay viable once `term` ends on `stack`: the name
        (`_named`) of the suffix tables whose inside tokens they are, and their ids.

        A hypothesis set is legal iff one of its hypotheses is, so each terminal that can start
        after `term` is taken alone: the suffix tables (shared by every grammar) say which
        suffixes starting with one of its first bytes end inside it and which split again; only
        those go on, the same way, from the stacks after it. Each level reads at least a byte
        (so a vocabulary of long tokens makes a long worklist, never a deep recursion), and each
        (table, stack, terminal) is taken once. Memoised per (stack, terminal, table): the
        name by the grammar, the ids for every grammar together.
        """
        key = (stack[0], term, table.serial)
        serials = self._split_serials.get(key)
        if serials is not None:
            ids = _SPLIT_IDS.get(key)
            if ids is not None:
                return serials, ids
        found: list[TokenTable] = []
        todo = [(table, stack, term)]
        seen = {(table.serial, stack[0], term)}
        while todo:
            table, stack, term = todo.pop()
            for boundary in self.table.feed(stack, term):
                firsts = self._start_terms(boundary[1])  # special tokens are never part of a split suffix
                for byte in table.split_ranges.keys() & firsts.keys():
                    for _, term2, state in cast("Iterator[_Start]", _hyps(self._starts(boundary, byte))):
                        sub = suffix_table(self.vocab, table, byte, self.dfas[term2], state)
                        if len(sub.inside_ids):
                            found.append(sub)
                        if sub.split_ranges and (sub.serial, boundary[0], term2) not in seen:
                            seen.add((sub.serial, boundary[0], term2))
                            todo.append((sub, boundary, term2))
        serials, ids = _joined(found)
        _SPLIT_IDS.put(key, ids)
        if len(self._split_serials) > _STEP_CACHE_SIZE:
            self._split_serials.clear()
        self._split_serials[key] = serials
        return serials, ids

    # -- forced text and completion -----------------------------------------------------------

    def _options(self, config: Config) -> tuple[set[int], set[int]]:
        """The ordinary bytes and special ids that can come next."""
        nexts: set[int] = set()
        specials: set[int] = set()
        for hyp in _hyps(config):
            stack, term, state = hyp
            if term is not None:
                nexts.update(self.dfas[term].next_bytes[state])
            for boundary in self._boundaries(hyp):
                for term2 in self._shiftable(boundary):
                    special = self.special_terminals.get(term2)
                    if special is not None:
                        specials.add(special)
                    else:
                        nexts.update(self.dfas[term2].next_bytes[0])
        return nexts, specials

    def forced(self, config: Config) -> tuple[list[Piece], Config]:
        """The text every continuation starts with, cut at `Limits.forced_bytes` (a grammar with no
        finite sentence forces forever; a 100 kB `const` need not be walked whole every step), and
        the configuration after it.

        Work is linear in the forced text: a lone hypothesis inside a terminal, short of any end,
        moves by DFA rows alone (a long `const` costs one row lookup per byte and fills no cache);
        elsewhere each byte is one memoised `step`."""
        pieces: list[Piece] = []
        run = bytearray()
        budget = limits().forced_bytes
        while len(run) < budget:
            if len(config) == 3 and config[1] is not None:
                stack, term, state = config
                dfa = self.dfas[term]
                moved = False
                while len(run) < budget and not dfa.accepting[state] and len(dfa.next_bytes[state]) == 1:
                    (b,) = dfa.next_bytes[state]
                    run.append(b)
                    state = dfa.rows[state][b]
                    moved = True
                if moved:
                    config = (stack, term, state)
                    continue
            if self.accepting(config):
                break
            nexts, specials = self._options(config)
            if len(nexts) == 1 and not specials:
                (b,) = nexts
                run.append(b)
                config = self.step(config, b)
            elif len(specials) == 1 and not nexts:
                if run:
                    pieces.append(bytes(run))
                    budget -= len(run)
                    run = bytearray()
                (special,) = specials
                pieces.append(special)
                budget -= 1
                config = self.step_special(config, special)
            else:
                break
        if run:
            pieces.append(bytes(run))
        return pieces, config

    @cached_property
    def _completer(self) -> Completer:
        """Shortest-completion tables, built on the first `completion` (not every grammar needs them)."""
        return Completer(self.table, self.dfas, self.special_terminals)

    def completion(self, config: Config) -> list[Piece]:
        """The shortest text (by bytes; a special counts one) that finishes the sentence.

        Per hypothesis: the terminal in progress to its nearest accepting state, then the cheapest
        stack after it, unwound (linear in its depth). Raises `GrammarTooComplex` rather than build a
        completion longer than `Limits.shortest_text`, and `MalformedGrammar` where none is finite
        (rules that derive no finite text, which the recogniser cannot see coming)."""
        completer = self._completer
        best = None
        for stack, term, state in _hyps(config):
            tail = b"" if term is None else completer.tail(term, state)
            for after in (stack,) if term is None else self.table.feed(stack, term):
                total = len(tail) + completer.cost(after)
                if best is None or total < best[0]:
                    best = (total, tail, after)
        if best is None:
            return []
        total, tail, after = best
        if total == math.inf:
            raise MalformedGrammar("no finite text finishes the sentence from here: some rule derives no finite string")
        limit = limits().shortest_text
        if total > limit:
            raise GrammarTooComplex("", "shortest_text", limit, f"the shortest completion here is {total} bytes")
        return completer.pieces(completer.plan(after), tail)

    def completion_tokens(self, config: Config) -> list[int]:
        """`completion` as token ids ending with a stop token (memoised in an LRU bounded in bytes
        for every grammar together: the decode loop asks every step)."""
        key = (self._serial, _key(config))
        tokens = _COMPLETION_TOKENS.get(key)
        if tokens is None:
            tokens = np.array(self.pieces_to_tokens(self.completion(config)) + list(self.stop_ids[:1]), np.int32)
            _COMPLETION_TOKENS.put(key, tokens)
        return tokens.tolist()

    def forced_tokens(self, config: Config) -> list[int]:
        """`forced` text as token ids (memoised like `completion_tokens`: asked every step)."""
        key = (self._serial, _key(config))
        tokens = _FORCED_TOKENS.get(key)
        if tokens is None:
            tokens = np.array(self.pieces_to_tokens(self.forced(config)[0]), np.int32)
            _FORCED_TOKENS.put(key, tokens)
        return tokens.tolist()

    def pieces_to_tokens(self, pieces: list[Piece]) -> list[int]:
        """Token ids for forced/completion pieces (bytes tokenised greedily)."""
        out: list[int] = []
        run = bytearray()
        for piece in pieces:
            if isinstance(piece, int):
                if run:
                    out.extend(self.vocab.tokenize(bytes(run)))
                    run.clear()
                out.append(piece)
            else:
                run.extend(piece)
        if run:
            out.extend(self.vocab.tokenize(bytes(run)))
        return out

