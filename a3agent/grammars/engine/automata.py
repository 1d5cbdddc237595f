"""Terminal automata: a lark terminal's regex as a DFA over bytes.

`byte_regex` parses the (Python-syntax) regex into byte-level nodes (each character class as its
UTF-8 byte sequences, so the DFA reads bytes, which is what tokens are) and `lazy_dfa` builds
states from their derivatives: eagerly into these tables when the automaton is small, lazily
otherwise. Only well-formed UTF-8 is accepted (no overlongs, no surrogates), so whatever a constrained
model emits decodes. States that cannot reach an accepting state are removed: every live state
has a completion, which the termination guarantee and `forced()` rely on.

`without_substrings` intersects a DFA with "contains none of these strings" (the special-token
spellings ordinary text must never produce).

Not handled: regex flags, anchors, lookaround, backreferences (`MalformedGrammar`; the grammar
builders never emit them).
"""

from __future__ import annotations

import hashlib
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from a3agent.errors import MalformedGrammar
from a3agent.grammars.engine.byte_regex import Nodes, parse_regex, utf8_sequences
from a3agent.grammars.engine.lazy_dfa import LazyDFA, LiteralDFA, aho_corasick, literal_signature

__all__ = [
    "MAX_SIGNED_STATES", "TOO_LARGE_TO_SIGN", "ByteDFA", "literal_dfa", "minimal_table_dfa", "regex_dfa", "row_classes",
    "table_dfa", "utf8_sequences", "without_substrings",
]

DEAD = -1
_MAX_CHAR = 0x10FFFF
MAX_SIGNED_STATES = 32
"""Sub-automata larger than this get no signature (compared by identity only)."""
TOO_LARGE_TO_SIGN = object()
"""What `ByteDFA.structure` gives for a state whose part of the automaton is larger than
`MAX_SIGNED_STATES` would allow to sign."""
_STRUCTURE_SIGNATURES: OrderedDict[Hashable, bytes | None] = OrderedDict()
_STRUCTURE_SIGNATURES_SIZE = 20_000
"""Signatures kept by structure key (`ByteDFA.structure`), the most recently used: a new schema's
"any other key" automaton reaches the same string body, and states spelling the same name ends, as
every other's. Keys should be small (the schema compiler's are 16-byte digests): 20,000 of them."""


@dataclass(eq=False)
class ByteDFA:
    """A trimmed DFA over bytes: start state 0, `trans[state, byte]` (-1 = dead), `accept[state]`."""

    trans: np.ndarray
    accept: np.ndarray
    distance: np.ndarray = field(init=False, repr=False)
    """Fewest bytes from each state to an accepting state."""
    next_bytes: tuple[tuple[int, ...], ...] = field(init=False, repr=False)
    """The live bytes out of each state."""
    text: bytes | None = field(default=None, repr=False)
    """The string this automaton spells, state i having read i bytes, when it is a literal's
    (`literal_dfa`): a state's signature within a horizon is then the text ahead."""
    structure: Callable[[int], Hashable | None] | None = field(default=None, repr=False)
    """For some states, a key that the automaton reachable from the state depends on alone (a
    state `spelled_dfa` reaches at a state of a character automaton: the key is that state's
    part of the character automaton): equal keys give equal signatures, so a state's signature is
    read from the other automata's (`_STRUCTURE_SIGNATURES`) rather than walked. The callable gives
    None for a state with no key, and `TOO_LARGE_TO_SIGN` for one whose part is too large."""

    def __post_init__(self) -> None:
        self.distance = _distances(self.trans, self.accept)
        states, live = np.nonzero(self.trans >= 0)  # one pass, not a numpy call per state
        bounds = np.searchsorted(states, np.arange(len(self.trans) + 1)).tolist()
        flat = live.tolist()
        self.next_bytes = tuple(tuple(flat[a:z]) for a, z in zip(bounds, bounds[1:]))

    @property
    def n_states(self) -> int:
        return len(self.accept)

    @cached_property
    def rows(self) -> tuple[tuple[int, ...], ...]:
        """`trans` as Python tuples: the byte-at-a-time walks index these faster than numpy (and
        tuples of ints, unlike lists, drop out of the garbage collector's view)."""
        return tuple(map(tuple, self.trans.tolist()))

    @cached_property
    def accepting(self) -> tuple[bool, ...]:
        """`accept` as a Python tuple."""
        return tuple(self.accept.tolist())

    @cached_property
    def runs(self) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
        """Each state's row as runs of one target: (first byte of each run, its target). Rows are
        a few long runs, so a walk over them (`signature`) does a few steps a state, not 256;
        made for every state in one vectorised pass."""
        trans = self.trans
        begins = np.empty(trans.shape, dtype=bool)
        begins[:, 0] = True
        np.not_equal(trans[:, 1:], trans[:, :-1], out=begins[:, 1:])
        flat = np.flatnonzero(begins)  # state * 256 + first byte of each run, in order
        targets = trans.ravel()[flat].tolist()
        firsts = (flat & 255).tolist()
        bounds = np.searchsorted(flat, np.arange(0, (len(trans) + 1) * 256, 256)).tolist()
        return tuple((tuple(firsts[a:z]), tuple(targets[a:z])) for a, z in zip(bounds, bounds[1:]))

    @cached_property
    def acyclic(self) -> bool:
        """True if the language is finite (no state is on a cycle)."""
        targets = [np.unique(row[row >= 0]).tolist() for row in self.trans]
        indegree = np.zeros(self.n_states, dtype=np.int64)
        for ts in targets:
            indegree[ts] += 1
        ready = [s for s in range(self.n_states) if indegree[s] == 0]
        done = 0
        while ready:
            s = ready.pop()
            done += 1
            for t in targets[s]:
                indegree[t] -= 1
                if indegree[t] == 0:
                    ready.append(t)
        return done == self.n_states

    lazy = False

    @cached_property
    def dead_padded(self) -> tuple[np.ndarray, np.ndarray]:
        """`trans` flattened and `accept`, each with one dead state appended: a walk's dead
        entries (-1) then index that state, so a vectorised step (`token_trie.trie_walk`) is
        one gather, not a clamp, a gather and a select."""
        return np.append(self.trans.ravel(), np.full(256, DEAD, self.trans.dtype)), np.append(self.accept, False)

    def ensure(self, states: np.ndarray) -> None:
        """Nothing to build: every row of an eager automaton is there (see `LazyDFA.ensure`)."""

    def private_key(self, state: int, horizon: int = 0) -> int:
        """The key of a state's token table within this automaton when it has no signature."""
        return state

    @cached_property
    def _signatures(self) -> dict[int | tuple[int, int], bytes | None]:
        """`signature`'s memo, made on first use (a literal's by state and horizon)."""
        return {}

    def signature(self, state: int, horizon: int = 0) -> bytes | None:
        """A digest equal for two states (of any DFAs) iff the automata reachable from them are
        the same, by canonical numbering (breadth first, successors in byte order); None when that
        automaton is too large to be worth comparing. Memoised.

        A literal's state within a horizon is the text ahead (`literal_signature`): one digest, and
        equal across literals that end alike, as the states' token tables are."""
        if self.text is not None and horizon:
            key = (state, horizon)
            digest = self._signatures.get(key)
            if digest is None:
                digest = self._signatures[key] = literal_signature(self.text, state, horizon)
            return digest
        memo = self._signatures
        if state in memo:
            return memo[state]
        structure = self.structure(state) if self.structure is not None else None
        if structure is TOO_LARGE_TO_SIGN:
            memo[state] = None
            return None
        if structure is not None and structure in _STRUCTURE_SIGNATURES:
            _STRUCTURE_SIGNATURES.move_to_end(structure)
            known = memo[state] = _STRUCTURE_SIGNATURES[structure]
            return known
        digest = memo[state] = self._walked_signature(state)
        if structure is not None:
            _STRUCTURE_SIGNATURES[structure] = digest
            if len(_STRUCTURE_SIGNATURES) > _STRUCTURE_SIGNATURES_SIZE:
                _STRUCTURE_SIGNATURES.popitem(last=False)
        return digest

    def _walked_signature(self, state: int) -> bytes | None:
        """`signature` by walking the automaton reachable from `state` (None past `MAX_SIGNED_STATES`)."""
        memo = self._signatures
        runs, accepting = self.runs, self.accepting
        order, number = [state], {state: 0, DEAD: DEAD}
        for s in order:  # numbered breadth first, successors in the order of the first byte reaching them
            for t in runs[s][1]:
                if t not in number:
                    # a successor too large to sign makes this state too large as well
                    if len(order) >= MAX_SIGNED_STATES or (t in memo and memo[t] is None):
                        return None
                    number[t] = len(order)
                    order.append(t)
        numbered = number.__getitem__
        data = array("i")  # per state: accepts, number of runs, runs' bytes, targets
        for s in order:
            firsts, targets = runs[s]
            data.append(accepting[s])
            data.append(len(firsts))
            data.extend(firsts)
            data.extend(map(numbered, targets))
        data.append(len(order))
        return hashlib.blake2b(b"B" + data.tobytes(), digest_size=16).digest()

    def shortest_from(self, state: int) -> bytes:
        """The shortest byte string leading from `state` to acceptance (each state's first step
        is found once and memoised: a completion asked at every step of many hypotheses walks
        the same states again)."""
        steps = self.__dict__.setdefault("_shortest_steps", {})
        rows, accepting = self.rows, self.accepting
        out = bytearray()
        while not accepting[state]:
            b = steps.get(state)
            if b is None:
                row = self.trans[state]
                nxt = np.flatnonzero((row >= 0) & (self.distance[np.maximum(row, 0)] == self.distance[state] - 1))
                b = steps[state] = int(nxt[0])
            out.append(b)
            state = rows[state][b]
        return bytes(out)

    def run(self, state: int, data: bytes) -> int:
        """The state after `data`, or DEAD."""
        for b in data:
            state = int(self.trans[state, b])
            if state < 0:
                return DEAD
        return state


def _distances(trans: np.ndarray, accept: np.ndarray) -> np.ndarray:
    """Fewest bytes from each state to acceptance (int32 max: never): breadth first backwards
    over the distinct (state, successor) pairs, each looked at once (a long literal is a chain
    thousands of levels deep, so no per-level array work)."""
    n = len(accept)
    src, byte = np.nonzero(trans >= 0)
    pairs = np.unique(trans[src, byte].astype(np.int64) * n + src)  # by successor, then state
    successors, sources = np.divmod(pairs, n)
    starts = np.searchsorted(successors, np.arange(n + 1)).tolist()
    preds = sources.tolist()
    never = int(np.iinfo(np.int32).max)
    dist = [never] * n
    queue = deque(np.flatnonzero(accept).tolist())
    for state in queue:
        dist[state] = 0
    while queue:
        state = queue.popleft()
        d = dist[state] + 1
        for p in preds[starts[state] : starts[state + 1]]:
            if dist[p] == never:
                dist[p] = d
                queue.append(p)
    return np.array(dist, dtype=np.int64)


def row_classes(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each class, class of each row) for the classes of equal rows, numbered in
    order of first appearance. `np.unique(axis=0)` does the same by sorting, several times
    slower on the small tables of terminal automata."""
    ids: dict[bytes, int] = {}
    data = np.ascontiguousarray(rows)
    inverse = np.fromiter((ids.setdefault(row.tobytes(), len(ids)) for row in data), dtype=np.int64, count=len(data))
    firsts = np.zeros(len(ids), dtype=np.int64)
    firsts[inverse[::-1]] = np.arange(len(data) - 1, -1, -1)
    return firsts, inverse


_MINIMISE_STATES = 512
"""States up to which an automaton is minimised (Moore's refinement takes a round per level of a chain)."""


def _minimize(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Merge equivalent states (Moore's partition refinement); start stays state 0. Also returns
    each old state's new number (None: kept as built).

    Fewer states means fewer token tables to compute and more tables shared by signature. Larger
    automata are kept as built (derivatives already merge most equivalent states).
    """
    if len(accept) > _MINIMISE_STATES:
        return trans, accept, None
    firsts, _ = row_classes(trans.T)
    columns = trans[:, firsts]  # one column per class of bytes that act alike
    counted, classes = row_classes(accept[:, None])
    while True:
        targets = np.where(columns >= 0, classes[np.maximum(columns, 0)], -1)
        refined_firsts, refined = row_classes(np.concatenate([classes[:, None], targets], axis=1))
        if len(refined_firsts) == len(counted):
            break
        counted, classes = refined_firsts, refined
    # renumber so that the start state's class is 0, in first-seen order
    order: dict[int, int] = {}
    for c in classes.tolist():
        order.setdefault(c, len(order))
    remap = np.array([order[c] for c in classes.tolist()], dtype=np.int32)
    n = len(order)
    first = np.zeros(n, dtype=np.int64)
    first[remap[::-1]] = np.arange(len(remap))[::-1]
    new_trans = np.where(trans[first] >= 0, remap[np.maximum(trans[first], 0)], DEAD).astype(np.int32)
    return new_trans, accept[first], remap


TerminalDFA = ByteDFA | LazyDFA | LiteralDFA
"""Any terminal's automaton: built whole, built as text reaches it, or one long literal."""


def table_dfa(trans: np.ndarray, accept: np.ndarray, start: int = 0) -> ByteDFA:
    """A DFA from a transition table: keep the states reachable from `start` that can reach
    acceptance, and minimise (start becomes 0)."""
    return minimal_table_dfa(trans, accept, start)[0]


def minimal_table_dfa(trans: np.ndarray, accept: np.ndarray, start: int = 0) -> tuple[ByteDFA, np.ndarray | None]:
    """`table_dfa`, and each given state's number in it (DEAD: removed) when it was minimised
    (None when it was too large to be: then a state's part of the automaton is as built)."""
    dist = _distances(trans, accept)
    live = dist < np.iinfo(np.int32).max
    if not live[start]:
        raise MalformedGrammar("a terminal matches nothing (its automaton has no accepting path)")
    reached = np.zeros(len(accept) + 1, dtype=bool)  # the last slot absorbs DEAD
    reached[start] = True
    frontier = np.array([start])
    while len(frontier):
        targets = np.unique(trans[frontier])
        frontier = targets[~reached[targets] & np.append(live, False)[targets]]
        reached[frontier] = True
    order = [start] + [s for s in np.flatnonzero(reached[:-1]).tolist() if s != start]
    remap = np.full(len(accept) + 1, DEAD, dtype=np.int32)
    remap[np.array(order)] = np.arange(len(order), dtype=np.int32)
    sub = trans[np.array(order)]
    new = remap[np.where(sub >= 0, sub, len(accept))]
    minimal, minimal_accept, classes = _minimize(new.astype(np.int32), accept[np.array(order)].copy())
    if classes is None:
        return ByteDFA(minimal, minimal_accept), None
    kept = remap[:-1]
    return ByteDFA(minimal, minimal_accept), np.where(kept >= 0, classes[np.maximum(kept, 0)], DEAD)


# -- characters to UTF-8 byte sequences -------------------------------------------------------


_EAGER_STATES = 1024
"""States explored when an automaton is made; one that closes within this is eager and minimised."""
_EAGER_LITERAL = 256
"""Bytes of a literal up to which its automaton is an eager table."""


def _from_node(nodes: Nodes, root: int, what: str) -> ByteDFA | LazyDFA:
    if nodes.nullable[root]:
        raise MalformedGrammar(f"terminal {what} matches the empty string")
    if root == 0:
        raise MalformedGrammar(f"terminal {what} matches nothing")
    lazy = LazyDFA(nodes, root)
    if not lazy.explore(_EAGER_STATES):
        return lazy
    n = lazy.n_states
    return table_dfa(lazy.trans[:n].copy(), lazy.accept[:n].copy())


@lru_cache(maxsize=4096)
def regex_dfa(pattern: str) -> ByteDFA | LazyDFA:
    """The byte DFA of a lark/Python regex (cached: schemas share most terminals); lazy when it
    does not close within a few thousand states."""
    nodes = Nodes()
    return _from_node(nodes, parse_regex(pattern, nodes), f"regex {pattern[:80]!r}")


@lru_cache(maxsize=1024)
def literal_dfa(text: bytes) -> ByteDFA | LiteralDFA:
    """The DFA of one exact byte string (lazy when long)."""
    if not text:
        raise MalformedGrammar("empty literal terminal")
    if len(text) > _EAGER_LITERAL:
        return LiteralDFA(text)
    n = len(text)
    trans = np.full((n + 1, 256), DEAD, dtype=np.int32)
    trans[np.arange(n), np.frombuffer(text, dtype=np.uint8)] = np.arange(1, n + 1)
    accept = np.zeros(n + 1, dtype=bool)
    accept[n] = True
    return ByteDFA(trans, accept, text)


@lru_cache(maxsize=256)
def without_substrings(dfa: TerminalDFA, words: tuple[bytes, ...]) -> TerminalDFA:
    """`dfa` restricted to strings containing none of `words` (product with Aho-Corasick)."""
    if not words:
        return dfa
    if isinstance(dfa, (LazyDFA, LiteralDFA)):
        return dfa.forbidding(words)
    read = set(np.flatnonzero((dfa.trans >= 0).any(axis=0)).tolist())
    if not any(read.issuperset(word) for word in words):
        # each word has a byte no transition reads (a key, a number: no `<` for the chat
        # markers): the product would be the automaton itself, at a few ms a terminal
        return dfa
    ac, hit = aho_corasick(words)
    pairs = {(0, 0): 0}
    order = [(0, 0)]
    rows: list[np.ndarray] = []
    i = 0
    while i < len(order):
        s, a = order[i]
        row = np.full(256, DEAD, dtype=np.int32)
        ds, da = dfa.trans[s], ac[a]
        for b in np.flatnonzero((ds >= 0) & ~hit[da]).tolist():
            key = (int(ds[b]), int(da[b]))
            t = pairs.get(key)
            if t is None:
                t = pairs[key] = len(order)
                order.append(key)
            row[b] = t
        rows.append(row)
        i += 1
    accept = np.array([bool(dfa.accept[s]) for s, _ in order])
    return table_dfa(np.stack(rows), accept)
