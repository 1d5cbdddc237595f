"""What a tool returns or raises is turned into a result in its own thread, under its timeout, and
never drained without bound: an iterator anywhere in a returned value is refused unread (it may never
end), a value past `MAX_RESULT_VALUES` is refused, and an exception whose `__str__` fails or never
ends cannot break or hold `Toolbox.invoke`."""

import asyncio
import dataclasses
import threading
from typing import Any

import pydantic
import pytest

from a3agent.errors import ToolFailed
from a3agent.tools import Tool, Toolbox, ToolCall
from a3agent.tools.results import MAX_RESULT_VALUES


def run(box: Toolbox, name: str):
    return asyncio.run(asyncio.wait_for(box.invoke(ToolCall(name, {})), 60))  # hang guard


def returning(value: Any, timeout: float | None = 10) -> Toolbox:
    return Toolbox([Tool.from_function(lambda: value, name="f", timeout=timeout)])


class Holder(pydantic.BaseModel):
    items: Any


@dataclasses.dataclass
class Box:
    items: Any


def read_along(drained: list) -> Any:
    def items():
        for i in range(3):
            drained.append(i)
            yield i

    return items()


@pytest.mark.parametrize("wrap", [
    lambda it: it, lambda it: {"a": [1, it]}, lambda it: Holder(items=it), lambda it: [Box(items=(1, it))],
], ids=["bare", "nested", "model field", "dataclass field"])
def test_an_iterator_anywhere_in_a_result_is_refused_unread(wrap):
    drained: list = []
    result = run(returning(wrap(read_along(drained))), "f")
    assert result.is_error and "it returned an iterator (generator)" in result.text
    assert "must return a list" in result.text and drained == []
    assert run(returning(wrap(map(str, [1]))), "f").is_error


def test_a_result_past_the_value_bound_is_refused_whatever_its_shape():
    assert run(returning(list(range(MAX_RESULT_VALUES - 1))), "f").text.startswith("[0,1,2")
    result = run(returning(list(range(MAX_RESULT_VALUES))), "f")
    assert result.is_error and f"more than MAX_RESULT_VALUES={MAX_RESULT_VALUES} values" in result.text
    shared: list = []
    for _ in range(60):  # 2**60 values once written out, from 120 list objects
        shared = [shared, shared]
    assert "MAX_RESULT_VALUES" in run(returning({"tree": shared}), "f").text


class Unreadable(Exception):
    def __str__(self):
        return 1 / 0


class UnreadableFailure(ToolFailed):
    def __str__(self):
        raise RuntimeError


class UnreadableExit(BaseException):
    def __str__(self):
        raise RuntimeError


@pytest.mark.parametrize(("raised", "reported"), [
    (Unreadable, "raised Unreadable: <a Unreadable whose message cannot be read>"),
    (UnreadableFailure, "failed: <a UnreadableFailure whose message cannot be read>"),
    (UnreadableExit, "failed: it raised UnreadableExit(<a UnreadableExit whose message cannot be read>)"),
])
def test_an_exception_whose_message_cannot_be_read_is_reported_by_its_type(raised, reported):
    def fails() -> str:
        """Fail."""
        raise raised()

    result = run(Toolbox([Tool.from_function(fails, timeout=None)]), "fails")
    assert result.is_error and reported in result.text


def test_an_exception_whose_message_never_ends_times_out_with_its_tool():
    released = threading.Event()

    class Endless(Exception):
        def __str__(self):
            released.wait(30)  # would hold the caller, out of the tool's timeout
            return "finally"

    def fails() -> str:
        """Fail."""
        raise Endless()

    try:
        result = run(Toolbox([Tool.from_function(fails, timeout=0.5)]), "fails")
    finally:
        released.set()
    assert result.is_error and "did not finish within 0.5 s" in result.text
