"""Checked by mypy in tests/test_typing.py, never run: the flat API's real types reach a type checker."""

from typing import assert_type

import a3agent
from a3agent import Agent, RunResult, Tool, load_model, tool


@tool
def shout(text: str) -> str:
    """Shout.

    Args:
        text: What to shout.
    """
    return text.upper()


@tool(requires_approval=True)
def delete(path: str) -> str:
    """Delete a file.

    Args:
        path: Which file.
    """
    return path


assert_type(shout, Tool)
assert_type(delete, Tool)
agent = Agent(load_model("tiny"), [shout, delete], tool_choice="shout", max_steps=2)
assert_type(agent.run("hi"), RunResult)
assert_type(a3agent.Agent("tiny"), Agent)  # Any if the flat API hid its types
