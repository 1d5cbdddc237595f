"""The command-line options `chat` and `run` share, declared once as annotated types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from a3agent.cli.settings import AgentSettings

__all__ = [
    "Model", "Images", "Tools", "Dialect", "NoThink", "MinThink", "MaxThink", "Unconstrained", "System",
    "ToolChoice", "Device", "Dtype", "Seed", "Temperature", "Debug", "settings_from",
]  # fmt: skip

Model = Annotated[str, typer.Option(
    "--model", "-m", help="A checkpoint folder, a cached hub id (e.g. schneewolflabs/A3-Instruct), 'tiny' (the "
    "offline random-weight build) or 'scripted:NAME' (the scripted test model: empty_think, drafted_call, "
    "weather_episode).")]
Images = Annotated[Optional[list[Path]], typer.Option(
    "--image", "-i", help="An image for the first message; repeat for several.")]
Tools = Annotated[str, typer.Option(help="'builtin' or 'module:attr' naming a Toolbox, a tool or a list of "
                                         "tools (the current folder is importable).")]
Dialect = Annotated[str, typer.Option(help="Tool-call format: hermes-json or qwen3-xml.")]
NoThink = Annotated[bool, typer.Option("--no-think", help="No think block.")]
MinThink = Annotated[Optional[int], typer.Option(help="Think at least this many tokens (default 8).")]
MaxThink = Annotated[Optional[int], typer.Option(help="Think at most this many tokens (default 1024).")]
Unconstrained = Annotated[bool, typer.Option(
    "--unconstrained", help="Decode without the grammar: the model's output is parsed as it comes.")]
System = Annotated[Optional[str], typer.Option(help="System prompt.")]
ToolChoice = Annotated[str, typer.Option(
    help="auto, required, none, or a tool name (required and a name bind a run's first step).")]
Device = Annotated[Optional[str], typer.Option(help="torch device (default: cuda when there is one, else cpu).")]
Dtype = Annotated[Optional[str], typer.Option(help="bfloat16, float16 or float32 (default: bfloat16 on cuda, "
                                                   "float32 on cpu).")]
Seed = Annotated[Optional[int], typer.Option(help="Sampling seed.")]
Temperature = Annotated[float, typer.Option(help="0 picks the most likely token (greedy).")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]


def settings_from(
    system: str | None, no_think: bool, min_think: int | None, max_think: int | None, unconstrained: bool,
    dialect: str, tool_choice: str, temperature: float, seed: int | None,
) -> AgentSettings:  # fmt: skip
    """The options as agent settings."""
    return AgentSettings(system=system, thinking=not no_think, min_think=min_think, max_think=max_think,
                         constrained=not unconstrained, dialect=dialect, tool_choice=tool_choice,
                         temperature=temperature, seed=seed)
