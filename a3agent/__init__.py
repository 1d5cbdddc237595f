"""a3agent: grammar-constrained tool calling and an image-grounded agent loop for A3-Instruct.

The flat public API. Message parts live in `a3agent.agent` and tool-result parts in
`a3agent.tools` (both have a `TextPart` and an `ImagePart`).
"""

from a3agent.agent import Agent, Conversation, RunResult, Step
from a3agent.agent.events import Event, FinalEvent, StepEnd, TextDelta, ThinkingDelta, ToolCallEvent, ToolResultEvent
from a3agent.errors import *  # noqa: F403
from a3agent.errors import __all__ as _error_names
from a3agent.grammars import (
    Grammar,
    Matcher,
    Thinking,
    TurnOptions,
    check_schema,
    compile_grammar,
    compile_json_schema,
    compile_turn,
)
from a3agent.model import DecodeLoop, LoadedModel, SamplingParams, build_tiny_model, load_model, load_scripted
from a3agent.tools import ImageStore, Tool, ToolCall, ToolContext, ToolResult, Toolbox, builtin_tools, tool

__all__ = [
    "Agent",
    "Conversation",
    "DecodeLoop",
    "Event",
    "FinalEvent",
    "Grammar",
    "ImageStore",
    "LoadedModel",
    "Matcher",
    "RunResult",
    "SamplingParams",
    "Step",
    "StepEnd",
    "TextDelta",
    "Thinking",
    "ThinkingDelta",
    "Tool",
    "ToolCall",
    "ToolCallEvent",
    "ToolContext",
    "ToolResult",
    "ToolResultEvent",
    "Toolbox",
    "TurnOptions",
    "build_tiny_model",
    "builtin_tools",
    "check_schema",
    "compile_grammar",
    "compile_json_schema",
    "compile_turn",
    "load_model",
    "load_scripted",
    "tool",
    *_error_names,
]
__version__ = "0.1.0"
