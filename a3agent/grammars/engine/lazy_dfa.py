"""Terminal automata whose states are built when text first reaches them.

A state is a regex node (`byte_regex.Nodes`) paired with an Aho-Corasick state when the terminal
must avoid some spellings (special tokens). Its row of 256 successors is the node's derivatives,
computed on first use; a state's number is given when some row first points at it. So
`maxLength: 10**18`, `a{1000}{1000}` or `[ab]*a[ab]{20}` cost nothing at compile time: what gets
built is what the text visits, plus the few dozen bytes a token table looks ahead.

`build_dfa` explores a regex eagerly up to `_EAGER_STATES` states: an automaton that closes within
that is handed back as an ordinary minimised `ByteDFA` (the common case: every JSON primitive,
keys, short patterns); a larger one stays lazy. A lazy automaton offers the members of `ByteDFA`
that the engine reads (`rows`, `accepting`, `next_bytes`, `trans`/`accept` after `ensure`,
`signature`, `shortest_from`), so the engine treats both alike.

Token tables are shared between states whose behaviour agrees on every string a token can spell:
`signature(state, horizon)` clamps every count beyond the vocabulary's longest token, so the
states of a long bounded string share one table until its end comes within reach.

Bounds: `Limits.dfa_states` states per automaton (about 1 KiB each), `Limits.shortest_text`
bytes for a shortest completion; past either, `GrammarTooComplex`.
"""

from __future__ import annotations

import hashlib
from collections import deque

import numpy as np

from a3agent.errors import GrammarTooComplex, MalformedGrammar
from a3agent.grammars.engine.byte_regex import Nodes
from a3agent.grammars.engine.limits import charge, limits

__all__ = ["LazyDFA", "LiteralDFA", "aho_corasick"]

DEAD = -1
_KEY_NODES = 4096
"""Regex nodes beyond which a state gets no shared signature (compared within its automaton)."""
_ROW_CACHE = 8192
"""Rows kept as Python tuples for byte-at-a-time walks (rebuilt from the array when dropped)."""


class _Rows:
    """`dfa.rows[state]`: the state's successors as a tuple, built on first use."""

    def __init__(self, dfa: LazyDFA) -> None:
        self.dfa = dfa
        self.cache: dict[int, tuple[int, ...]] = {}

    def __getitem__(self, state: int) -> tuple[int, ...]:
        row = self.cache.get(state)
        if row is None:
            if len(self.cache) > _ROW_CACHE:
                self.cache.clear()
            self.dfa.build(state)
            row = self.cache[state] = tuple(self.dfa.trans[state].tolist())
        return row


class _Accepting:
    def __init__(self, dfa: LazyDFA) -> None:
        self.dfa = dfa

    def __getitem__(self, state: int) -> bool:
        return bool(self.dfa.accept[state])


class _NextBytes:
    def __init__(self, dfa: LazyDFA) -> None:
        self.dfa = dfa
        self.cache: dict[int, tuple[int, ...]] = {}

    def __getitem__(self, state: int) -> tuple[int, ...]:
        out = self.cache.get(state)
        if out is None:
            if len(self.cache) > _ROW_CACHE:
                self.cache.clear()
            row = self.dfa.rows[state]
            out = self.cache[state] = tuple(b for b in range(256) if row[b] >= 0)
        return out


def aho_corasick(words: tuple[bytes, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Transition table of the automaton that tracks the longest suffix that is a word prefix."""
    goto: list[dict[int, int]] = [{}]
    hit = [False]
    for w in words:
        s = 0
        for b in w:
            if b not in goto[s]:
                goto.append({})
                hit.append(False)
                goto[s][b] = len(goto) - 1
            s = goto[s][b]
        hit[s] = True
    n = len(goto)
    trans = np.zeros((n, 256), dtype=np.int32)
    fail = [0] * n
    queue: deque[int] = deque()
    for b, t in goto[0].items():
        trans[0, b] = t
        queue.append(t)
    while queue:
        s = queue.popleft()
        hit[s] = hit[s] or hit[fail[s]]
        trans[s] = trans[fail[s]]
        for b, t in goto[s].items():
            fail[t] = int(trans[fail[s], b])
            trans[s, b] = t
            queue.append(t)
    return trans, np.array(hit, dtype=bool)




class LazyDFA:
    """A byte DFA over regex derivatives, built as it is walked; start state 0."""

    lazy = True
    text = None
    """Not one literal's automaton (see `LiteralDFA.text`)."""

    def __init__(self, nodes: Nodes, root: int, words: tuple[bytes, ...] = ()) -> None:
        self.nodes, self.root, self.words = nodes, root, words
        self._words = aho_corasick(words) if words else None  # (transitions, hit per state)
        self._word_cuts = sorted({c for w in words for b in w for c in (b, b + 1)})
        self._ids: dict[tuple[int, int], int] = {}
        self._keys: list[tuple[int, int]] = []
        self.trans = np.full((64, 256), DEAD, dtype=np.int32)
        self.accept = np.zeros(64, dtype=bool)
        self._built = np.zeros(64, dtype=bool)
        self._signatures: dict[tuple[int, int], bytes | None] = {}
        self._searched: dict[int, bytes] = {}
        self._descent: dict[int, tuple[int, int]] = {}
        self.rows = _Rows(self)
        self.accepting = _Accepting(self)
        self.next_bytes = _NextBytes(self)
        self._number((root, 0))

    def __repr__(self) -> str:
        return f"<LazyDFA: {len(self._keys)} states built so far>"

    @property
    def n_states(self) -> int:
        """States numbered so far."""
        return len(self._keys)

    def forbidding(self, words: tuple[bytes, ...]) -> LazyDFA:
        """The same language without any string containing one of `words`."""
        return LazyDFA(self.nodes, self.root, tuple(sorted(set(self.words) | set(words))))

    # -- building ------------------------------------------------------------------------------

    def _number(self, key: tuple[int, int]) -> int:
        state = self._ids.get(key)
        if state is not None:
            return state
        state = len(self._keys)
        if state >= limits().dfa_states:
            raise GrammarTooComplex("", "dfa_states", limits().dfa_states, "a terminal automaton")
        charge(1)
        if state >= len(self.accept):
            grow = len(self.accept)
            self.trans = np.concatenate([self.trans, np.full((grow, 256), DEAD, dtype=np.int32)])
            self.accept = np.concatenate([self.accept, np.zeros(grow, dtype=bool)])
            self._built = np.concatenate([self._built, np.zeros(grow, dtype=bool)])
        self._ids[key] = state
        self._keys.append(key)
        self.accept[state] = self.nodes.nullable[key[0]]
        return state

    def build(self, state: int) -> None:
        """Compute the row of `state` (numbering its successors) unless it is there."""
        if self._built[state]:
            return
        node, ac = self._keys[state]
        cuts = self.nodes.cuts(node)
        if self._word_cuts:
            cuts = tuple(sorted(set(cuts).union(self._word_cuts)))
        row = self.trans[state]
        for a, b in zip(cuts, cuts[1:]):
            nxt = self.nodes.derivative(node, a)
            if nxt == 0:
                continue
            ac_next = 0
            if self._words is not None:
                transitions, hit = self._words
                ac_next = int(transitions[ac, a])
                if hit[ac_next]:
                    continue
            target = self._number((nxt, ac_next))
            row = self.trans[state]  # numbering may have grown the array
            row[a:b] = target
        self._built[state] = True

    def ensure(self, states: np.ndarray) -> None:
        """Build the rows of `states` (an array of state numbers) before a vectorised walk."""
        states = states[states >= 0]
        missing = np.unique(states[~self._built[states]])
        for state in missing.tolist():
            self.build(state)

    def explore(self, budget: int) -> bool:
        """Build rows breadth first until all are built (True) or `budget` states exist."""
        queue = deque(s for s in range(len(self._keys)) if not self._built[s])
        while queue:
            if len(self._keys) > budget:
                return False
            state = queue.popleft()
            before = len(self._keys)
            self.build(state)
            queue.extend(range(before, len(self._keys)))
        return True

    # -- what the engine asks -----------------------------------------------------------------

    def signature(self, state: int, horizon: int = 0) -> bytes | None:
        """A digest equal for states (of any lazy automaton) that fare alike on every string of
        at most `horizon` bytes; None when the state's regex is too large to compare."""
        key = (state, horizon)
        if key not in self._signatures:
            node, ac = self._keys[state]
            text = self.nodes.key(self.nodes.clamp(node, horizon), _KEY_NODES)
            digest = None
            if text is not None:
                data = b"L" + text.encode() + b"|" + b"\0".join(self.words) + b"|" + str(ac).encode()
                digest = hashlib.blake2b(data, digest_size=16).digest()
            self._signatures[key] = digest
        return self._signatures[key]

    def private_key(self, state: int, horizon: int = 0) -> tuple[int, int]:
        """A key equal for this automaton's states that `signature` would call alike."""
        node, ac = self._keys[state]
        return (self.nodes.clamp(node, horizon), ac)

    def shortest_from(self, state: int) -> bytes:
        """The shortest byte string from `state` to acceptance: each byte is one whose
        derivative is a byte shorter (the regex's own shortest length is exact); where a
        forbidden spelling blocks that path, a bounded breadth-first search instead.

        The descent is memoised a step per state (`_descent`), so it is not kept as a string here
        (the completer keeps the tails it hands out); a search's result is, per start state.

        Raises `GrammarTooComplex` past `Limits.shortest_text` bytes."""
        out = self._searched.get(state)
        if out is None:
            out = self._descend(state)
            if out is None:
                if len(self._searched) > _ROW_CACHE:
                    self._searched.clear()
                out = self._searched[state] = self._search(state)
        return out

    def _descend(self, state: int) -> bytes | None:
        bound = limits().shortest_text
        nodes = self.nodes
        need = nodes.min_len(self._keys[state][0])
        if need > bound:
            raise GrammarTooComplex("", "shortest_text", bound, f"a terminal needs {need} more bytes")
        path = bytearray()
        # per state, its first byte on a shortest path and where it leads: a completion asked every
        # step from inside a 10,000-state chain (`(a{100}){100}`) walks it by lookups, instead of
        # rebuilding rows the row cache cannot hold (one entry per state: bounded by `dfa_states`)
        descent = self._descent
        while not self.accept[state]:
            known = descent.get(state)
            if known is None:
                row = self.rows[state]
                step = next((b for b in self.next_bytes[state] if nodes.min_len(self._keys[row[b]][0]) == need - 1), None)
                if step is None:
                    return None
                known = descent[state] = (step, row[step])
            path.append(known[0])
            state, need = known[1], need - 1
        return bytes(path)

    def _search(self, state: int) -> bytes:
        bound = limits().shortest_text
        parent: dict[int, tuple[int, int]] = {state: (-1, -1)}
        frontier = [state]
        depth = 0
        goal = state if self.accept[state] else -1
        while goal < 0:
            if not frontier:
                raise GrammarTooComplex("", "shortest_text", bound, "a terminal that cannot end")
            depth += 1
            if depth > bound:
                raise GrammarTooComplex("", "shortest_text", bound, "the shortest text that ends a terminal")
            nxt = []
            for s in frontier:
                row = self.rows[s]
                for b in self.next_bytes[s]:
                    t = row[b]
                    if t not in parent:
                        parent[t] = (s, b)
                        nxt.append(t)
                        if self.accept[t] and goal < 0:
                            goal = t
            frontier = nxt
        path = bytearray()
        while goal != state:
            goal, b = parent[goal]
            path.append(b)
        return bytes(reversed(path))


class _LiteralTrans:
    """`trans[states, bytes]` of a literal: the next position where the byte is the literal's."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def __getitem__(self, index: tuple) -> np.ndarray:
        states, byte = index
        states = np.asarray(states)
        inside = states < len(self.data) - 1
        match = inside & (self.data[np.minimum(states, len(self.data) - 1)] == byte)
        return np.where(match, states + 1, DEAD).astype(np.int32)


class _LiteralAccept:
    def __init__(self, final: int) -> None:
        self.final = final

    def __getitem__(self, states):
        return np.asarray(states) == self.final


class _LiteralRows:
    def __init__(self, text: bytes) -> None:
        self.text = text

    def __getitem__(self, state: int) -> tuple[int, ...]:
        row = [DEAD] * 256
        if state < len(self.text):
            row[self.text[state]] = state + 1
        return tuple(row)


class _LiteralAccepting:
    def __init__(self, final: int) -> None:
        self.final = final

    def __getitem__(self, state: int) -> bool:
        return state == self.final


class _LiteralNext:
    def __init__(self, text: bytes) -> None:
        self.text = text

    def __getitem__(self, state: int) -> tuple[int, ...]:
        return (self.text[state],) if state < len(self.text) else ()


def text_ahead(text: bytes, state: int, horizon: int) -> bytes:
    """What a literal's automaton meets from `state` (bytes read) on strings of at most `horizon`
    bytes: the next horizon+1 bytes, and whether its end is among them."""
    return text[state : state + horizon + 1] + (b"\1" if len(text) - state <= horizon else b"\0")


def literal_signature(text: bytes, state: int, horizon: int) -> bytes:
    """`text_ahead` as a digest, the same for every automaton spelling a literal (`LiteralDFA`, and
    a short literal's `ByteDFA`): literals that end alike share their last states' token tables."""
    return hashlib.blake2b(b"T" + text_ahead(text, state, horizon), digest_size=16).digest()


class LiteralDFA:
    """The automaton of one long exact byte string, state i = i bytes read: nothing is stored per
    position (a `const` of a million characters is this and its text)."""

    lazy = True

    def __init__(self, text: bytes) -> None:
        self.text = text
        n = len(text)
        self._data = np.frombuffer(text + b"\0", dtype=np.uint8)  # the pad is never read as a byte
        self.trans = _LiteralTrans(self._data)
        self.accept = _LiteralAccept(n)
        self.rows = _LiteralRows(text)
        self.accepting = _LiteralAccepting(n)
        self.next_bytes = _LiteralNext(text)
        self.n_states = n + 1

    def __repr__(self) -> str:
        return f"<LiteralDFA: {len(self.text)} bytes>"

    def ensure(self, states: np.ndarray) -> None:
        """Nothing to build: rows are computed from the text."""

    def private_key(self, state: int, horizon: int = 0) -> bytes:
        return text_ahead(self.text, state, horizon)

    def signature(self, state: int, horizon: int = 0) -> bytes | None:
        """What strings of at most `horizon` bytes meet: the next horizon+1 bytes and whether the
        end is among them (as `LazyDFA.signature`, but never equal to one of its digests)."""
        return literal_signature(self.text, state, horizon)

    def shortest_from(self, state: int) -> bytes:
        rest = self.text[state:]
        if len(rest) > limits().shortest_text:
            raise GrammarTooComplex("", "shortest_text", limits().shortest_text, "a literal")
        return rest

    def forbidding(self, words: tuple[bytes, ...]) -> LiteralDFA:
        """A literal containing a forbidden spelling matches nothing: refused."""
        hit = next((w for w in words if w in self.text), None)
        if hit is not None:
            raise MalformedGrammar(f"a literal contains {hit.decode(errors='replace')!r}, which text may not spell")
        return self
