"""a3agent: grammar-constrained tool calling and an image-grounded agent loop for A3-Instruct.

The flat public API. Message parts live in `a3agent.agent.messages`; their `TextPart` and
`ImagePart` are the tools' own (`a3agent.tools.parts`). The offline tiny build is
`a3agent.model.tiny.build_tiny_model`, a tool for tests and demos rather than part of this API.

Names are imported on first use, so `import a3agent.grammars` (the mask engine alone) does not
import torch: torch brings 300k objects that every full garbage collection then has to walk. Type
checkers read the same names from the `TYPE_CHECKING` imports below, which `_HOMES` must mirror
(`tests/test_exported_members.py` checks that).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from a3agent.errors import *  # noqa: F403
from a3agent.errors import __all__ as _error_names

_HOMES = {
    "Agent": "a3agent.agent",
    "Conversation": "a3agent.agent",
    "RunResult": "a3agent.agent",
    "Step": "a3agent.agent",
    "Event": "a3agent.agent.events",
    "FinalEvent": "a3agent.agent.events",
    "StepEnd": "a3agent.agent.events",
    "TextDelta": "a3agent.agent.events",
    "ThinkingDelta": "a3agent.agent.events",
    "ToolCallEvent": "a3agent.agent.events",
    "ToolResultEvent": "a3agent.agent.events",
    "CollectOptions": "a3agent.collect",
    "Episode": "a3agent.collect",
    "collect_trajectories": "a3agent.collect",
    "export_artemis": "a3agent.collect",
    "export_pairs": "a3agent.collect",
    "summarize": "a3agent.collect",
    "Grammar": "a3agent.grammars",
    "Matcher": "a3agent.grammars",
    "Thinking": "a3agent.grammars",
    "TurnOptions": "a3agent.grammars",
    "check_schema": "a3agent.grammars",
    "compile_grammar": "a3agent.grammars",
    "compile_json_schema": "a3agent.grammars",
    "compile_turn": "a3agent.grammars",
    "DecodeLoop": "a3agent.model",
    "LoadedModel": "a3agent.model",
    "SamplingParams": "a3agent.model",
    "load_model": "a3agent.model",
    "load_scripted": "a3agent.model",
    "ImageStore": "a3agent.tools",
    "MCPServer": "a3agent.tools.mcp",
    "MCPServers": "a3agent.tools.mcp_servers",
    "RefusedTool": "a3agent.tools.mcp",
    "Tool": "a3agent.tools",
    "ToolCall": "a3agent.tools",
    "ToolContext": "a3agent.tools",
    "ToolResult": "a3agent.tools",
    "Toolbox": "a3agent.tools",
    "builtin_tools": "a3agent.tools",
    "tool": "a3agent.tools",
}

if TYPE_CHECKING:
    from a3agent.agent import Agent, Conversation, RunResult, Step
    from a3agent.agent.events import (
        Event,
        FinalEvent,
        StepEnd,
        TextDelta,
        ThinkingDelta,
        ToolCallEvent,
        ToolResultEvent,
    )
    from a3agent.collect import CollectOptions, Episode, collect_trajectories, export_artemis, export_pairs, summarize
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
    from a3agent.model import DecodeLoop, LoadedModel, SamplingParams, load_model, load_scripted
    from a3agent.tools import (
        ImageStore,
        Tool,
        ToolCall,
        ToolContext,
        Toolbox,
        ToolResult,
        builtin_tools,
        tool,
    )
    from a3agent.tools.mcp import MCPServer, RefusedTool
    from a3agent.tools.mcp_servers import MCPServers

__all__ = [*sorted(_HOMES), *_error_names]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'a3agent' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
