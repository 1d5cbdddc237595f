"""Answer one turn's calls: refuse what must not run, run the rest through the toolbox, keep call order.

The toolbox already turns every failure of a real call (unknown tool, bad arguments, denied approval,
timeout, exception, unusable return value) into an error result; this module adds the agent's own
refusals (malformed output, repeated calls, calls where tool_choice is "none") and turns the toolbox's
results, whose images it has stored under new ids, into result parts. The application's `approve`
callback must answer with a bool: `"no"` is truthy, so anything else raises `AgentError` instead of
being read as consent.
"""

from __future__ import annotations

import asyncio
import inspect

from a3agent.agent.guards import RepeatGuard, repeat_message
from a3agent.agent.messages import ImagePart, TextPart, ToolCallPart, ToolResultPart
from a3agent.agent.parsing import MalformedCall
from a3agent.errors import AgentError
from a3agent.tools import Approve, ToolCall, ToolContext, Toolbox, ToolResult

__all__ = ["refusal", "calls_off_refusal", "validates", "invoke_all"]


def refusal(item: ToolCallPart | MalformedCall, repeats: RepeatGuard) -> ToolResultPart | None:
    """The error result for output that must not run (malformed, or a repeat); None if it may run."""
    if isinstance(item, MalformedCall):
        return _error(None, item.name, f"Your tool call could not be read: {item.message}.")
    earlier = repeats.first_of(item)
    return None if earlier is None else _error(item.id, item.name, repeat_message(item, earlier))


def calls_off_refusal(item: ToolCallPart | MalformedCall) -> ToolResultPart:
    """The result for a call made where tool_choice is "none" (the run's last step, or tools off)."""
    call_id = item.id if isinstance(item, ToolCallPart) else None
    return _error(call_id, item.name, "No tool calls are allowed at this step (the step limit was "
                                      "reached, or tools are off), so this call did not run; answer "
                                      "with what you have.")


def validates(toolbox: Toolbox, call: ToolCallPart) -> bool:
    """The tool exists and the arguments match its schema.

    Whatever stops the check counts as a no (a RecursionError on arguments nested deep under a
    recursive schema, a schema no validator can finish): `Toolbox.invoke` checks again and turns the
    same failure into the error result the model gets.
    """
    try:
        toolbox.validate(ToolCall(call.name, call.arguments))
    except Exception:
        return False
    return True


async def invoke_all(
    toolbox: Toolbox,
    calls: list[ToolCallPart],
    ctx: ToolContext,
    approve: Approve | None,
    parallel: bool,
) -> list[ToolResultPart]:
    """Run the calls (concurrently when `parallel`); results in call order."""

    checked = _bool_only(approve) if approve is not None else None

    async def invoke(call: ToolCallPart) -> ToolResultPart:
        result = await toolbox.invoke(ToolCall(call.name, call.arguments), ctx, approve=checked)
        return _result_part(call, result)

    if parallel:
        return list(await asyncio.gather(*(invoke(call) for call in calls)))
    return [await invoke(call) for call in calls]


def _bool_only(approve: Approve) -> Approve:
    async def checked(call: ToolCall) -> bool:
        answer = approve(call)
        if inspect.isawaitable(answer):
            answer = await answer
        if not isinstance(answer, bool):
            raise AgentError(f"the approve callback answered {answer!r} for a call to {call.name!r}; it must "
                             "return True (run the tool) or False (deny it)")
        return answer

    return checked


def _result_part(call: ToolCallPart, result: ToolResult) -> ToolResultPart:
    parts: list[TextPart | ImagePart] = []
    for part in result.parts:
        # the toolbox checks hand-built results (`to_tool_result`) and stores every image a tool returns
        assert isinstance(part, (TextPart, ImagePart)), "Toolbox.invoke hands out text and stored images only"
        parts.append(part)
    return ToolResultPart(call_id=call.id, name=call.name, parts=parts, is_error=result.is_error)


def _error(call_id: str | None, name: str, message: str) -> ToolResultPart:
    return ToolResultPart(call_id=call_id, name=name, parts=[TextPart(text=message)], is_error=True)
