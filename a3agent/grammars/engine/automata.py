"""Terminal automata: a lark terminal's regex as a DFA over bytes.

`interegular` parses the (Python-syntax) regex into a DFA over characters; we expand each
character class into UTF-8 byte sequences so the DFA reads bytes, which is what tokens are.
Only well-formed UTF-8 is accepted (no overlongs, no surrogates), so whatever a constrained
model emits decodes. States that cannot reach an accepting state are removed: every live state
has a completion, which the termination guarantee and `forced()` rely on.

`without_substrings` intersects a DFA with "contains none of these strings" (the special-token
spellings ordinary text must never produce).

Not handled: regex flags, anchors, lookaround, backreferences (interegular refuses them; the
grammar builders never emit them).
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import interegular
import numpy as np
from interegular.fsm import anything_else

from a3agent.errors import MalformedGrammar

__all__ = ["ByteDFA", "regex_dfa", "literal_dfa", "table_dfa", "without_substrings"]

DEAD = -1
_MAX_CHAR = 0x10FFFF
_MAX_SIGNED_STATES = 32
"""Sub-automata larger than this get no signature (compared by identity only)."""


@dataclass(eq=False)
class ByteDFA:
    """A trimmed DFA over bytes: start state 0, `trans[state, byte]` (-1 = dead), `accept[state]`."""

    trans: np.ndarray
    accept: np.ndarray
    distance: np.ndarray = field(init=False, repr=False)
    """Fewest bytes from each state to an accepting state."""
    next_bytes: tuple[tuple[int, ...], ...] = field(init=False, repr=False)
    """The live bytes out of each state."""

    def __post_init__(self) -> None:
        self.distance = _distances(self.trans, self.accept)
        self.next_bytes = tuple(tuple(np.flatnonzero(row >= 0).tolist()) for row in self.trans)

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
    def successors(self) -> tuple[tuple[int, ...], ...]:
        """Each state's distinct successors, in the order of the first byte reaching them."""
        return tuple(tuple(dict.fromkeys(row[row >= 0].tolist())) for row in self.trans)

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

    def signature(self, state: int) -> bytes | None:
        """A digest equal for two states (of any DFAs) iff the automata reachable from them are
        the same, by canonical numbering (breadth first, successors in byte order); None when that
        automaton is too large to be worth comparing. Memoised."""
        memo = self.__dict__.setdefault("_signatures", {})
        if state in memo:
            return memo[state]
        order, number = [state], {state: 0}
        for s in order:
            for t in self.successors[s]:
                if t not in number:
                    if len(order) >= _MAX_SIGNED_STATES:
                        memo[state] = None
                        return None
                    number[t] = len(order)
                    order.append(t)
        remap = np.full(self.n_states + 1, DEAD, dtype=np.int32)
        remap[order] = np.arange(len(order), dtype=np.int32)
        canonical = remap[self.trans[order]].ravel()  # DEAD indexes the last slot: stays DEAD
        runs = np.flatnonzero(np.diff(canonical)) + 1  # run-length form: rows are long runs
        data = b"".join((len(order).to_bytes(4, "little"), runs.tobytes(), canonical[runs].tobytes(),
                         canonical[:1].tobytes(), self.accept[order].tobytes()))
        digest = hashlib.blake2b(data, digest_size=16).digest()
        memo[state] = digest
        return digest

    def shortest_from(self, state: int) -> bytes:
        """The shortest byte string leading from `state` to acceptance."""
        out = bytearray()
        while not self.accept[state]:
            row = self.trans[state]
            nxt = np.flatnonzero((row >= 0) & (self.distance[np.maximum(row, 0)] == self.distance[state] - 1))
            b = int(nxt[0])
            out.append(b)
            state = int(row[b])
        return bytes(out)

    def run(self, state: int, data: bytes) -> int:
        """The state after `data`, or DEAD."""
        for b in data:
            state = int(self.trans[state, b])
            if state < 0:
                return DEAD
        return state


def _distances(trans: np.ndarray, accept: np.ndarray) -> np.ndarray:
    """Fewest bytes from each state to acceptance (int32 max: never), one BFS level at a time."""
    dist = np.full(len(accept), np.iinfo(np.int32).max, dtype=np.int64)
    dist[accept] = 0
    frontier = accept.copy()
    level = 0
    padded = np.append(frontier, False)
    while frontier.any():
        level += 1
        padded[:-1] = frontier
        reaches = padded[trans].any(axis=1)  # DEAD (-1) indexes the padding: False
        frontier = reaches & (dist > level)
        dist[frontier] = level
    return dist


def _minimize(trans: np.ndarray, accept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge equivalent states (Moore's partition refinement); start stays state 0.

    Fewer states means fewer token tables to compute: a JSON string body otherwise comes out of
    interegular as four states with identical futures.
    """
    columns = np.unique(trans.T, axis=0).T  # one column per class of bytes that act alike
    classes = accept.astype(np.int64)
    while True:
        targets = np.where(columns >= 0, classes[np.maximum(columns, 0)], -1)
        signature = np.concatenate([classes[:, None], targets], axis=1)
        _, refined = np.unique(signature, axis=0, return_inverse=True)
        refined = refined.ravel()
        if len(np.unique(refined)) == len(np.unique(classes)):
            break
        classes = refined
    # renumber so that the start state's class is 0, in first-seen order
    order = {}
    for c in classes.tolist():
        order.setdefault(c, len(order))
    remap = np.array([order[c] for c in classes.tolist()], dtype=np.int32)
    n = len(order)
    first = np.zeros(n, dtype=np.int64)
    first[remap[::-1]] = np.arange(len(remap))[::-1]
    new_trans = np.where(trans[first] >= 0, remap[np.maximum(trans[first], 0)], DEAD).astype(np.int32)
    return new_trans, accept[first]


def table_dfa(trans: np.ndarray, accept: np.ndarray, start: int = 0) -> ByteDFA:
    """A DFA from a transition table: keep the states reachable from `start` that can reach
    acceptance, and minimise (start becomes 0)."""
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
    return ByteDFA(*_minimize(new.astype(np.int32), accept[np.array(order)].copy()))


# -- characters to UTF-8 byte sequences -------------------------------------------------------


def _encode(cp: int) -> bytes:
    return chr(cp).encode("utf-8", "surrogatepass")


def utf8_sequences(lo: int, hi: int) -> list[tuple[tuple[int, int], ...]]:
    """Byte-range sequences matching exactly the UTF-8 encodings of code points lo..hi.

    Example: utf8_sequences(0x41, 0x42) == [((0x41, 0x42),)]
    """
    out: list[tuple[tuple[int, int], ...]] = []
    todo = [(lo, hi)]
    while todo:
        lo, hi = todo.pop()
        if lo > hi:
            continue
        if lo <= 0xDFFF and hi >= 0xD800:  # surrogates are not characters
            todo += [(lo, 0xD7FF), (0xE000, hi)]
            continue
        split = next((b for b in (0x7F, 0x7FF, 0xFFFF) if lo <= b < hi), None)
        if split is not None:
            todo += [(lo, split), (split + 1, hi)]
            continue
        if hi <= 0x7F:
            out.append(((lo, hi),))
            continue
        n = len(_encode(lo))
        for i in range(1, n):
            m = (1 << (6 * i)) - 1
            if lo & ~m != hi & ~m:
                if lo & m:
                    todo += [(lo, lo | m), ((lo | m) + 1, hi)]
                    break
                if hi & m != m:
                    todo += [(lo, (hi & ~m) - 1), (hi & ~m, hi)]
                    break
        else:
            a, b = _encode(lo), _encode(hi)
            out.append(tuple(zip(a, b)))
    return out


def _ranges(chars: set[int], complement: bool) -> list[tuple[int, int]]:
    """Code point set (or its complement over all of Unicode) as sorted inclusive ranges."""
    pts = sorted(chars)
    ranges: list[tuple[int, int]] = []
    for c in pts:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    if not complement:
        return ranges
    out, prev = [], 0
    for a, b in ranges:
        if a > prev:
            out.append((prev, a - 1))
        prev = b + 1
    if prev <= _MAX_CHAR:
        out.append((prev, _MAX_CHAR))
    return out


def _from_char_fsm(fsm: interegular.FSM) -> ByteDFA:
    """Expand a character FSM into a byte DFA; multi-byte tails become shared helper states."""
    symbol_chars: dict[object, set[int]] = {}
    mapped: set[int] = set()
    for ch, sym in fsm.alphabet._symbol_mapping.items():
        if ch is anything_else:
            continue
        symbol_chars.setdefault(sym, set()).add(ord(ch))
        mapped.add(ord(ch))
    else_symbol = fsm.alphabet._symbol_mapping.get(anything_else)

    states = sorted(fsm.states, key=lambda s: (s != fsm.initial, str(s)))
    index = {s: i for i, s in enumerate(states)}
    rows: list[np.ndarray] = []
    accept: list[bool] = []
    tails: dict[frozenset, int] = {}
    pending: list[tuple[int, list]] = []

    def new_state(is_final: bool) -> int:
        rows.append(np.full(256, DEAD, dtype=np.int32))
        accept.append(is_final)
        return len(rows) - 1

    for s in states:
        new_state(s in fsm.finals)
    for s in states:
        items = []
        for sym, target in fsm.map.get(s, {}).items():
            chars = symbol_chars.get(sym, set()) if sym != else_symbol else mapped
            for lo, hi in _ranges(chars, complement=sym == else_symbol):
                items += [(seq, index[target]) for seq in utf8_sequences(lo, hi)]
        pending.append((index[s], items))

    while pending:
        state, items = pending.pop()
        cuts = sorted({lo for seq, _ in items for lo in (seq[0][0], seq[0][1] + 1)})
        for a, b in zip(cuts, cuts[1:]):
            here = [(seq, t) for seq, t in items if seq[0][0] <= a and b - 1 <= seq[0][1]]
            if not here:
                continue
            if len(here[0][0]) == 1:
                rows[state][a:b] = here[0][1]
                continue
            key = frozenset((seq[1:], t) for seq, t in here)
            tail = tails.get(key)
            if tail is None:
                tail = tails[key] = new_state(False)
                pending.append((tail, [(seq[1:], t) for seq, t in here]))
            rows[state][a:b] = tail
    return table_dfa(np.stack(rows), np.array(accept, dtype=bool))


def _inline_unicode_escapes(pattern: str) -> str:
    """Rewrite `\\uNNNN`/`\\UNNNNNNNN` (which interegular lacks) as `\\xNN` or the raw character."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            width = {"u": 4, "U": 8}.get(pattern[i + 1])
            digits = pattern[i + 2 : i + 2 + width] if width else ""
            if width and len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                cp = int(digits, 16)
                out.append(f"\\x{cp:02x}" if cp < 0x80 else chr(cp))
                i += 2 + width
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def regex_dfa(pattern: str) -> ByteDFA:
    """The byte DFA of a lark/Python regex (cached: schemas share most terminals)."""
    try:
        fsm = interegular.parse_pattern(_inline_unicode_escapes(pattern)).to_fsm()
    except Exception as e:  # interegular raises several unrelated types
        raise MalformedGrammar(f"terminal regex {pattern!r} cannot be compiled: {e}") from e
    dfa = _from_char_fsm(fsm)
    if dfa.accept[0]:
        raise MalformedGrammar(f"terminal regex {pattern!r} matches the empty string")
    return dfa


@lru_cache(maxsize=4096)
def literal_dfa(text: bytes) -> ByteDFA:
    """The DFA of one exact byte string."""
    if not text:
        raise MalformedGrammar("empty literal terminal")
    n = len(text)
    trans = np.full((n + 1, 256), DEAD, dtype=np.int32)
    trans[np.arange(n), np.frombuffer(text, dtype=np.uint8)] = np.arange(1, n + 1)
    accept = np.zeros(n + 1, dtype=bool)
    accept[n] = True
    return ByteDFA(trans, accept)


def _aho_corasick(words: tuple[bytes, ...]) -> tuple[np.ndarray, np.ndarray]:
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
    queue = deque()
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


@lru_cache(maxsize=1024)
def without_substrings(dfa: ByteDFA, words: tuple[bytes, ...]) -> ByteDFA:
    """`dfa` restricted to strings containing none of `words` (product with Aho-Corasick)."""
    if not words:
        return dfa
    ac, hit = _aho_corasick(words)
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
