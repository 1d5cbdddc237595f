"""Issue 9's hostile inputs: each finishes in bounded time with a result or a typed error.

Every case runs in a fresh process of its own: a worker, started once per module, imports a3agent,
loads the tokenizer and builds its token table, then forks one child per case, so each case starts
from that same state and nothing one case leaves behind reaches another. The child runs the case
under a 10 s alarm (a hang guard, not a timing assertion) and writes one JSON object back: the
outcome, the error's type, path and limit, so the parent asserts the exact typed error. A child
that has not exited 120 s after its start is killed and the case fails with `TimeoutExpired`, as
when each case was a subprocess of its own; a worker that stops answering is killed and replaced.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

CASE_TIMEOUT_S = 120  # wall clock for one case's child, from fork to exit (was: the whole subprocess)

# The worker. It runs as `python -c` at module level, with no __future__ import, so a case's code is
# exec'd exactly as it was in a fresh interpreter: in the module's globals, with json, signal, sys,
# A3AgentError, compile_json_schema, offline_tokenizer, tok and hang in scope.
_WORKER = textwrap.dedent('''
    import json, signal, sys
    import os as _os, select as _select, threading as _threading, time as _time, tempfile as _tempfile
    _requests = _os.fdopen(_os.dup(0), "rb")
    _replies = _os.fdopen(_os.dup(1), "w")
    _os.dup2(2, 1)  # anything else printed goes to stderr, never into the replies
    from a3agent.errors import A3AgentError
    from a3agent.grammars import compile_json_schema
    from a3agent.model.tokenizer import offline_tokenizer
    tok = offline_tokenizer()
    _warm = compile_json_schema({"type": "integer"}, tok).matcher()  # the token table, built once
    _warm.mask(); _warm.completion(); _warm.forced()
    del _warm
    def hang(*_):
        raise TimeoutError("case ran past its 10 s guard")
    def _reply(message):
        _replies.write(json.dumps(message) + "\\n")
        _replies.flush()
    _reply({"ready": True})
    for _line in _requests:
        _request = json.loads(_line)
        _log = _tempfile.TemporaryFile()
        _read, _write = _os.pipe()
        _pid = _os.fork()
        if _pid == 0:  # the case's own process
            _os.close(_read)
            _os.dup2(_log.fileno(), 1)
            _os.dup2(_log.fileno(), 2)
            signal.signal(signal.SIGALRM, hang)
            signal.alarm(10)
            try:
                exec(_request["code"])
                out = {"outcome": "ok"}
            except A3AgentError as e:
                out = {"outcome": type(e).__name__, "path": getattr(e, "path", None),
                       "limit": getattr(e, "limit", None), "keyword": getattr(e, "keyword", None)}
            except BaseException as e:
                out = {"outcome": type(e).__name__, "message": str(e)[:300]}
            signal.alarm(0)
            _os.write(_write, json.dumps(out).encode())
            _os.close(_write)
            for _thread in _threading.enumerate():  # as at interpreter exit: wait for non-daemon threads
                if _thread is not _threading.main_thread() and not _thread.daemon:
                    _thread.join()
            sys.stdout.flush(); sys.stderr.flush()
            _os._exit(0)
        _os.close(_write)
        _deadline = _time.monotonic() + _request["timeout"]
        _written, _open, _exited = b"", True, False
        while not _exited and _time.monotonic() < _deadline:  # the result, then the child's exit
            _wait = max(0.0, min(0.05, _deadline - _time.monotonic()))
            if not _open:
                _time.sleep(0.002)
            elif _select.select([_read], [], [], _wait)[0]:
                _chunk = _os.read(_read, 65536)
                _written, _open = _written + _chunk, bool(_chunk)
            _exited = _os.waitpid(_pid, _os.WNOHANG)[0] != 0
        if not _exited:
            _os.kill(_pid, signal.SIGKILL)
            _os.waitpid(_pid, 0)
        while _open:  # whatever the child wrote before it exited or was killed
            _chunk = _os.read(_read, 65536)
            _written, _open = _written + _chunk, bool(_chunk)
        _os.close(_read)
        _log.seek(0)
        _text = _log.read().decode("utf-8", "replace")
        _log.close()
        _reply({"timed_out": not _exited, "log": _text[-4000:],
                "result": json.loads(_written) if _written else None})
''')


class CaseWorker:
    """The pytest side of the worker: starts it on first use, sends cases, replaces it if it stops answering."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.stderr = None
        self.buffer = b""

    def _start(self) -> None:
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr)
        self.buffer = b""
        ready = self._read_reply(300)
        assert ready == {"ready": True}, ready

    def _read_reply(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        out = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                self.close()
                raise subprocess.TimeoutExpired("engine case worker", timeout)
            chunk = os.read(out, 65536)
            if not chunk:
                log = self._stderr_tail()
                self.close()
                raise AssertionError(f"the engine case worker exited:\n{log}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]

    def run(self, code: str) -> dict:
        if self.process is None or self.process.poll() is not None:
            self._start()
        self.process.stdin.write((json.dumps({"code": code, "timeout": CASE_TIMEOUT_S}) + "\n").encode())
        self.process.stdin.flush()
        return self._read_reply(CASE_TIMEOUT_S + 60)

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None


_CASES = CaseWorker()


@pytest.fixture(scope="module", autouse=True)
def case_worker():
    yield _CASES
    _CASES.close()


def run_case(code: str) -> dict:
    """Run `code` (with `tok` and `compile_json_schema` in scope) in a process of its own."""
    reply = _CASES.run(textwrap.dedent(code))
    if reply["timed_out"]:
        raise subprocess.TimeoutExpired("engine case", CASE_TIMEOUT_S, output=reply["log"])
    assert reply["result"] is not None, reply["log"][-2000:]
    return reply["result"]


def compiled(schema_source: str) -> dict:
    """Compile the schema (Python source) and ask the matcher for a mask, completion and forced text."""
    return run_case(f"""
        g = compile_json_schema({schema_source}, tok)
        m = g.matcher()
        m.mask(); m.completion(); m.forced()
    """)


def deep(n: int) -> str:
    return (f"__import__('functools').reduce(lambda s, _: {{'type': 'object', 'properties': {{'a': s}}, "
            f"'required': ['a']}}, range({n}), {{'type': 'integer'}})")


# -- counted repetition and long literals (the engine builds terminal automata lazily) ----------

@pytest.mark.parametrize("schema", [
    pytest.param("{'type': 'string', 'maxLength': 400}", id="maxLength-400"),
    pytest.param("{'type': 'string', 'minLength': 200}", id="minLength-200"),
    pytest.param("{'type': 'string', 'maxLength': 100000}", id="maxLength-1e5"),
    pytest.param("{'type': 'string', 'maxLength': 10**18}", id="maxLength-1e18"),
    pytest.param("{'const': 'x' * 100000}", id="const-100k"),
    pytest.param("{'type': 'string', 'pattern': '^(a{100}){100}$'}", id="pattern-a100-100"),
    pytest.param("{'type': 'string', 'pattern': '^[ab]*a[ab]{20}$'}", id="pattern-ab-20"),
    pytest.param("{'type': 'string', 'pattern': '^.*a.{16}$'}", id="pattern-dot-16"),
])
def test_counted_repetition_compiles(schema):
    assert compiled(schema) == {"outcome": "ok"}


# -- schema-level automata: combining constraints is eager, so it is bounded -------------------

@pytest.mark.parametrize("schema, path", [
    ("{'type': 'string', 'pattern': '^[ab]*a[ab]{20}$', 'maxLength': 30}", ""),
    ("{'type': 'string', 'not': {'pattern': '^.*a.{16}$'}}", ""),
    ("{'type': 'object', 'properties': {'s': {'type': 'string', 'pattern': '^(a{100}){100}$', 'maxLength': 50}}}",
     "/properties/s"),
])
def test_exploding_string_automata_are_refused(schema, path):
    assert compiled(schema) == {"outcome": "GrammarTooComplex", "path": path, "limit": "schema_dfa_states",
                                "keyword": "schema_dfa_states"}


def test_ten_thousand_properties_with_free_keys_are_refused_by_the_key_automaton():
    outcome = compiled("{'type': 'object', 'properties': {f'p{i}': {'type': 'integer'} for i in range(10000)}}")
    assert (outcome["outcome"], outcome["path"], outcome["limit"]) == ("GrammarTooComplex", "", "schema_dfa_states")


def test_ten_thousand_closed_properties_compile_or_are_refused_in_time():
    outcome = compiled("{'type': 'object', 'additionalProperties': False, "
                       "'properties': {f'p{i}': {'type': 'integer'} for i in range(10000)}}")
    assert outcome["outcome"] in ("ok", "GrammarTooComplex"), outcome


@pytest.mark.parametrize("n", [100, 300, 1000])
def test_many_optional_properties_compile(n):
    """In schema order each optional key may be skipped, so the parser states after a comma grow
    with the keys left (once a minute of lark's analysis at 200 keys, then 1.8 s of ours); past
    `Limits.ordered_optional_keys` they are a loop, linear: 200-300 keys take 0.2-0.35 s here, 1,000
    keys 1.0-1.5 s (a literal automaton per key, the "any other key" automaton, LALR over 1,000
    key terminals), so on a busy machine those may meet the 2 s limit, refused in time."""
    outcome = compiled(f"{{'type': 'object', 'properties': {{f'customer_address_line_{{i}}': {{'type': 'string'}} "
                       f"for i in range({n})}}}}")
    if n == 1000 and outcome["outcome"] == "GrammarTooComplex":
        assert outcome["limit"] == "compile_seconds", outcome
    else:
        assert outcome["outcome"] == "ok", outcome


def test_max_properties_below_the_declared_count_is_bounded():
    """A state per (ordered key, count): 33 x 300 of them (the optional keys past the ordered
    limit are a loop), each a rule, over the limit on rules; with every key ordered, 301 x 300
    were over `object_states` first."""
    outcome = compiled("{'type': 'object', 'maxProperties': 299, "
                       "'properties': {f'p{i}': {'type': 'integer'} for i in range(300)}}")
    assert (outcome["outcome"], outcome["path"], outcome["limit"]) == ("GrammarTooComplex", "", "grammar_rules")


def test_enum_of_a_thousand_strings_compiles_as_one_terminal():
    assert compiled("{'enum': [f'value-{i}' for i in range(1000)]}") == {"outcome": "ok"}


def test_enum_of_ten_thousand_strings_is_refused_at_its_limit():
    assert compiled("{'enum': [f'value-{i}' for i in range(10000)]}") == {
        "outcome": "GrammarTooComplex", "path": "", "limit": "enum_values", "keyword": "enum_values"}


def test_property_name_of_100k_characters_is_bounded():
    outcome = compiled("{'type': 'object', 'properties': {'k' * 100000: {'type': 'string'}}, 'required': ['k' * 100000]}")
    assert outcome["outcome"] in ("ok", "GrammarTooComplex"), outcome
    assert outcome.get("limit") in (None, "schema_dfa_states", "text_length"), outcome


# -- depth, counts and odd values: typed errors naming the path --------------------------------

@pytest.mark.parametrize("n", [200, 1000])
def test_deep_nesting_is_refused_at_the_depth_limit(n):
    outcome = compiled(deep(n))
    assert (outcome["outcome"], outcome["limit"]) == ("GrammarTooComplex", "schema_depth")
    assert outcome["path"].startswith("/properties/a/properties/a")


def test_nesting_within_the_limit_compiles():
    assert compiled(deep(40)) == {"outcome": "ok"}


@pytest.mark.parametrize("schema", [
    pytest.param("{'type': 'array', 'prefixItems': [{'type': 'integer'}] * 5000}", id="prefixItems-5000"),
    pytest.param("{'type': 'object', 'minProperties': 5000}", id="minProperties-5000"),
])
def test_large_counts_compile(schema):
    assert compiled(schema) == {"outcome": "ok"}


def test_huge_numeric_bound_is_refused_by_its_digits():
    assert compiled("{'type': 'number', 'minimum': 1e308}") == {
        "outcome": "GrammarTooComplex", "path": "/minimum", "limit": "number_digits", "keyword": "number_digits"}


@pytest.mark.parametrize("keyword, value", [("minimum", "float('nan')"), ("maximum", "float('inf')"),
                                            ("multipleOf", "float('-inf')")])
def test_non_finite_bounds_are_refused(keyword, value):
    assert compiled(f"{{'type': 'number', '{keyword}': {value}}}") == {
        "outcome": "UnsupportedSchema", "path": f"/{keyword}", "limit": None, "keyword": keyword}


@pytest.mark.parametrize("schema, path", [
    ("{'$ref': '#'}", ""),
    ("{'type': 'object', 'properties': {'a': {'$ref': '#'}}, 'required': ['a']}", "/properties/a"),
])
def test_ref_cycles_without_a_base_case_are_refused(schema, path):
    assert compiled(schema) == {"outcome": "UnsupportedSchema", "path": path, "limit": None, "keyword": "$ref"}


def test_ref_cycle_with_a_base_case_compiles():
    assert compiled("{'type': 'object', 'properties': {'next': {'$ref': '#'}}}") == {"outcome": "ok"}


def test_lone_surrogate_property_name_is_refused():
    assert compiled("{'type': 'object', 'properties': {'\\ud800': {'type': 'integer'}}}") == {
        "outcome": "UnsupportedSchema", "path": "/properties", "limit": None, "keyword": "properties"}


# -- the matcher at decode time ------------------------------------------------------------------

@pytest.mark.parametrize("length", [16, 1000])
def test_completion_at_every_byte_of_a_long_key(length):
    outcome = run_case(f"""
        key = 'k' * {length}
        g = compile_json_schema({{'type': 'object', 'properties': {{key: {{'type': 'string'}}}}, 'required': [key]}}, tok)
        m = g.matcher()
        text = '{{"' + key + '": "v"}}'
        for piece in text:
            m.completion()
            for token in tok.encode(piece, add_special_tokens=False):
                assert m.advance(token), piece
        assert m.accepting()
    """)
    assert outcome == {"outcome": "ok"}


def test_a_deeply_nested_free_form_value_costs_memory_linear_in_its_depth():
    """3,000 brackets into a free-form value, masked at each: stacks share what is below their
    top, so the memos keyed by them hold O(depth) states, not O(depth²) (a stack as a tuple of all
    its states grew the process by 0.6 GB here, 1.1 GB at 4,000 brackets, 21 GB at 20,000).
    The bound leaves room for the process-wide mask caches (64 MiB of whole masks)."""
    outcome = run_case("""
        def resident():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * _os.sysconf("SC_PAGE_SIZE")
        g = compile_json_schema({'type': 'object', 'properties': {'x': {}}}, tok)
        m = g.matcher()
        for token in tok.encode('{"x": ', add_special_tokens=False):
            assert m.advance(token)
        (bracket,) = tok.encode('[', add_special_tokens=False)
        before = resident()
        for i in range(3000):
            assert m.mask()[bracket]
            if i % 100 == 0:
                m.completion()  # its text is as long as the nesting, so not at every bracket
            assert m.advance(bracket)
        grown = resident() - before
        assert grown < 256 << 20, f"grew {grown >> 20} MiB"
        for token in tok.encode("]" * 3000 + "}", add_special_tokens=False):
            assert m.advance(token)
        assert m.accepting()
    """)
    assert outcome == {"outcome": "ok"}


@pytest.mark.parametrize("thinking", [False, True])
def test_advance_refuses_out_of_range_ids(thinking):
    outcome = run_case(f"""
        from a3agent.grammars import compile_turn
        if {thinking}:
            g = compile_turn([], tok)
        else:
            g = compile_json_schema({{'type': 'integer'}}, tok)
        for bad in (-1, len(tok), 2**40):
            assert g.matcher().advance(bad) is False, bad
    """)
    assert outcome == {"outcome": "ok"}


def test_person_tool_call_finishes():
    """Issue 9's hang: a tool taking two nested pydantic models, driven by a scripted model."""
    outcome = run_case("""
        import json
        from pydantic import BaseModel
        from a3agent import Agent
        from a3agent.model.scripted import load_scripted
        class Person(BaseModel):
            name: str
            date_of_birth: str
        def age_difference(a: Person, b: Person) -> int:
            'Years between two births.'
            return abs(int(a.date_of_birth[:4]) - int(b.date_of_birth[:4]))
        arguments = {"a": {"name": "Ann", "date_of_birth": "1990-01-01"}, "b": {"name": "Bo", "date_of_birth": "1985-06-30"}}
        turns = ["I compare the two birth dates.\\n</think>\\n\\n<tool_call>\\n"
                 + json.dumps({"name": "age_difference", "arguments": arguments}) + "\\n</tool_call>",
                 "I compared them.\\n</think>\\n\\nFive years."]
        result = Agent(load_scripted(turns, tok), [age_difference]).run("How far apart are Ann and Bo?")
        assert [c.arguments for c in result.calls] == [arguments], result.calls
    """)
    assert outcome == {"outcome": "ok"}


# -- strings a schema names are matched against its patterns by automata, not by backtracking ----

WORDS = "'^(\\\\w+\\\\s?)*$'"  # a backtracking matcher takes a minute on 30 characters that do not match


def test_an_enum_value_against_a_backtracking_pattern_is_checked_in_linear_time():
    assert compiled(f"{{'enum': ['a' * 40 + '!', 'ab cd'], 'pattern': {WORDS}}}") == {"outcome": "ok"}


def test_a_declared_property_name_against_a_backtracking_pattern_property_is_matched_in_linear_time():
    assert compiled(f"{{'type': 'object', 'properties': {{'a' * 40 + '!': {{'type': 'integer'}}}}, "
                    f"'patternProperties': {{{WORDS}: {{'type': 'string'}}}}}}") == {"outcome": "ok"}


def test_a_tool_argument_against_a_backtracking_pattern_is_checked_in_linear_time():
    outcome = run_case(f"""
        from a3agent.errors import ToolArgumentsError
        from a3agent.tools import Tool, ToolDefinition
        words = ToolDefinition("words", "", {{"type": "object", "properties": {{"text": {{"type": "string", "pattern": {WORDS}}}}}}})
        tool = Tool(words, lambda text: text)
        assert tool.to_kwargs({{"text": "ab cd"}}) == {{"text": "ab cd"}}
        try:
            tool.to_kwargs({{"text": "a" * 40 + "!"}})
        except ToolArgumentsError:
            pass
        else:
            raise AssertionError("the argument does not match, yet it was let through")
    """)
    assert outcome == {"outcome": "ok"}


@pytest.mark.parametrize("schema", [
    pytest.param("{'properties': {'a': {'not': {'$ref': '#'}}}}", id="not-ref-root"),
    pytest.param("{'properties': {'a': {'if': {'$ref': '#'}}}}", id="if-ref-root"),
])
def test_a_negated_reference_to_the_root_is_refused_by_the_budget(schema):
    # each level subtracts the root from itself again, a larger synthetic schema every time: the
    # budget must see that work (it once ran on without a check)
    outcome = compiled(schema)
    assert outcome["outcome"] == "GrammarTooComplex" and outcome["limit"] in ("compile_seconds", "compile_work")
