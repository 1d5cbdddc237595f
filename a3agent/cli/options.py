"""The command-line options `chat` and `run` share, declared once as annotated types.

Ranges and choices are declared here, so the command-line parser refuses a bad value as a usage
error (exit status 2) before any command code runs. Nothing here imports torch or the grammar engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from a3agent.cli.settings import AgentSettings

__all__ = [
    "Model", "Images", "Tools", "Dialect", "NoThink", "MinThink", "MaxThink", "Unconstrained", "System",
    "ToolChoice", "Device", "Dtype", "Seed", "Temperature", "TopP", "MaxNewTokens", "MaxSteps", "Debug", "Mcp",
    "settings_from",
]  # fmt: skip


def _probability(value: float) -> float:
    if not 0 < value <= 1:
        raise typer.BadParameter(f"{value} is not in (0, 1]: give a probability mass above 0, 1 keeps every token")
    return value


Model = Annotated[str, typer.Option(
    "--model", "-m", help="A checkpoint folder, a cached hub id (e.g. schneewolflabs/A3-Instruct), 'tiny' (the "
    "offline random-weight build) or 'scripted:NAME' (the scripted test model: empty_think, drafted_call, "
    "weather_episode, image_drift).")]
Images = Annotated[Optional[list[Path]], typer.Option(
    "--image", "-i", help="An image for the first message; repeat for several.")]
Tools = Annotated[str, typer.Option(help="'builtin', 'none', or 'module:attr' naming a Toolbox, a tool or a list of "
                                         "tools (the current folder is importable).")]
Mcp = Annotated[Optional[Path], typer.Option(
    "--mcp", help="An MCP config file ({\"mcpServers\": {NAME: {command, args, env} | {url, headers}}}, as Claude "
    "Desktop and Cursor write it): its servers' tools join --tools; they ask before each call unless the entry "
    "says \"trust\": true.")]
Dialect = Annotated[Literal["hermes-json", "qwen3-xml"], typer.Option(help="Tool-call format.")]
NoThink = Annotated[bool, typer.Option("--no-think", help="No think block.")]
MinThink = Annotated[Optional[int], typer.Option(min=0, help="Think at least this many tokens (default 8).")]
MaxThink = Annotated[Optional[int], typer.Option(min=0, help="Think at most this many tokens (default 1024).")]
Unconstrained = Annotated[bool, typer.Option(
    "--unconstrained", help="Decode without the grammar: the model's output is parsed as it comes.")]
System = Annotated[Optional[str], typer.Option(help="System prompt.")]
ToolChoice = Annotated[str, typer.Option(
    help="auto, required, none, or a tool name (required and a name bind a run's first step).")]
Device = Annotated[Optional[str], typer.Option(help="torch device (default: cuda when there is one, else cpu).")]
Dtype = Annotated[Optional[Literal["bfloat16", "float16", "float32"]], typer.Option(
    help="Weights' dtype (default: bfloat16 on cuda, float32 on cpu).")]
Seed = Annotated[Optional[int], typer.Option(help="Sampling seed.")]
Temperature = Annotated[float, typer.Option(min=0.0, help="0 picks the most likely token (greedy).")]
TopP = Annotated[float, typer.Option(
    "--top-p", callback=_probability, help="Sample from the most likely tokens whose probabilities add up to this "
    "(with --temperature above 0).")]
MaxNewTokens = Annotated[Optional[int], typer.Option(
    min=1, help="Generated tokens per model turn (default: the agent's, 1024).")]
MaxSteps = Annotated[Optional[int], typer.Option(
    min=1, help="Model turns per message; the last may not call tools (default: the agent's, 8).")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks, and transformers' progress bars and warnings.")]


def settings_from(
    *, system: str | None, no_think: bool, min_think: int | None, max_think: int | None, unconstrained: bool,
    dialect: Dialect, tool_choice: str, temperature: float, top_p: float, seed: int | None,
    max_new_tokens: int | None, max_steps: int | None,
) -> AgentSettings:  # fmt: skip
    """The options as agent settings."""
    return AgentSettings(system=system, thinking=not no_think, min_think=min_think, max_think=max_think,
                         constrained=not unconstrained, dialect=dialect, tool_choice=tool_choice,
                         temperature=temperature, top_p=top_p, seed=seed, max_new_tokens=max_new_tokens,
                         max_steps=max_steps)
