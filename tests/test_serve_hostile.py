"""`a3agent serve` against input sized to make it work hard: tool-call arguments streamed as the model
writes them. Each cost is bounded: the work grows linearly, however the input is shaped."""

import threading
from collections.abc import Callable
from typing import Any

from a3agent.agent.parsing import CALL_CLOSE, CALL_OPEN
from a3agent.model.decode import SpecialToken
from a3agent.serve.turn_events import CallArguments, CallEnd, TurnReader
from tests.serve_support import HANG_GUARD_S


def finishes(work: Callable[[], Any]) -> Any:
    """`work()`'s result; fails if it runs past the hang guard (a guard, not a timing assertion)."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(_outcome(work)), daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert done, f"hang guard: still running after {HANG_GUARD_S} s"
    if isinstance(done[0], BaseException):
        raise done[0]
    return done[0]


def _outcome(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except Exception as exc:  # raised again on the test's thread
        return exc


# -- tool-call arguments as they stream ---------------------------------------------------------------


def streamed_arguments(deltas: list[str]) -> tuple[list[str], bool]:
    """The argument fragments a reader sends for one hermes-json call made of `deltas`, and its `ok`."""
    reader = TurnReader(False, "hermes-json", {"f": {"type": "object"}})
    events = [event for delta in [SpecialToken(CALL_OPEN), *deltas, SpecialToken(CALL_CLOSE)]
              for event in reader.feed(delta)]
    ends = [event.ok for event in events if isinstance(event, CallEnd)]
    return [event.text for event in events if isinstance(event, CallArguments)], ends == [True]


def test_streaming_arguments_with_a_long_run_of_whitespace_takes_linear_time():
    value = " " * 20_000 + "x" + " y" * 200
    deltas = ['\n{"name": "f", "arguments": {"a": "', *" " * 20_000, "x", *[" y"] * 200, '"}}', "\n"]
    fragments, ok = finishes(lambda: streamed_arguments(deltas))  # a regex over the whole text: ~10^11 steps
    assert ok and "".join(fragments) == '{"a": "' + value + '"}'


def test_streamed_arguments_join_to_exactly_the_whole_responses_arguments():
    block = '\n{"name": "f", "arguments":  {"a": "} x" }  }\n'
    fragments, ok = streamed_arguments(list(block))
    assert ok and "".join(fragments) == '{"a": "} x" }'
