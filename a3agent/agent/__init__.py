"""a3agent.agent: the loop. Messages, output parsing, steps, events, guards, conversations.

Data flows in from the other rooms (tools -> grammar -> decode loop -> here); nothing upstream
imports this package.
"""

from a3agent.agent.agent import Agent
from a3agent.agent.conversation import Conversation
from a3agent.agent.events import (
    Event,
    FinalEvent,
    StepEnd,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
    ToolResultEvent,
)
from a3agent.agent.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolMessage,
    ToolResultPart,
    UserMessage,
)
from a3agent.agent.parsing import MalformedCall, ParsedTurn, parse_turn
from a3agent.agent.result import RunResult, Step, StopReason

__all__ = [
    "Agent",
    "Conversation",
    "RunResult",
    "Step",
    "StopReason",
    "Event",
    "ThinkingDelta",
    "TextDelta",
    "ToolCallEvent",
    "ToolResultEvent",
    "StepEnd",
    "FinalEvent",
    "Message",
    "SystemMessage",
    "UserMessage",
    "AssistantMessage",
    "ToolMessage",
    "TextPart",
    "ImagePart",
    "ThinkingPart",
    "ToolCallPart",
    "ToolResultPart",
    "parse_turn",
    "ParsedTurn",
    "MalformedCall",
]
