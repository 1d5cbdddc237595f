"""`a3agent demo`: what a3agent fixes, offline and on CPU, in under a minute.

1. The scripted model replays A3-Instruct's drift (`drafted_call`: an empty think block, then an HTTP
   GET drafted where a tool call belongs, though it means `get_weather(city="London")`). The same
   agent runs it unconstrained and constrained, side by side: the grammar keeps `</think>` shut until
   the model has reasoned, and leaves no room but a schema-valid `<tool_call>`, so the model writes
   the call it meant, which runs.
2. The tiny ArtemisVLM (random weights, built on first use) answers a question about the sample
   image: it thinks, calls `crop`, gets the crop back as image tokens, and answers, rendered as the
   REPL renders it. Its words are noise; its call is valid because the grammar allows nothing else.
   Random weights cannot choose a sensible box, so this `crop` takes a named region instead.

The captions are written from what the runs did, so they cannot tell another story.

Not a benchmark: the timings in the stats lines are CPU figures for toy models.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from PIL import Image

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table

from a3agent.agent.agent import Agent
from a3agent.agent.result import RunResult
from a3agent.cli.home import SessionFolder
from a3agent.cli.models import open_model
from a3agent.cli.render import RunView, reasoning_panel, tool_call_panel, tool_result_panel
from a3agent.cli.exchange import play
from a3agent.cli.sample_image import fruit_bowl
from a3agent.grammars import Thinking
from a3agent.tools import ImageStore, ToolContext, crop, tool

__all__ = ["run_demo"]

WEATHER_QUESTION = "What's the weather in London right now?"
IMAGE_QUESTION = "Which fruits are in this bowl? Look closer before you answer."
_DRIFT_TOKENS = 128
_REGIONS = {
    "top-left": [0.0, 0.0, 0.5, 0.5],
    "top-right": [0.5, 0.0, 1.0, 0.5],
    "bottom-left": [0.0, 0.5, 0.5, 1.0],
    "bottom-right": [0.5, 0.5, 1.0, 1.0],
    "centre": [0.25, 0.25, 0.75, 0.75],
}


@tool
def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: Name of the city, e.g. "Paris".
    """
    return f"14 °C and cloudy in {city}"


@tool(name="crop")
def crop_region(
    image: Literal["img_0"],
    region: Literal["top-left", "top-right", "bottom-left", "bottom-right", "centre"],
    ctx: ToolContext,
) -> list[Any]:
    """Cut a region out of an image and look at it at full resolution, to read small detail.

    Args:
        image: Id of the image.
        region: Which part of the image to cut out.
    """
    return crop.function(image, _REGIONS[region], ctx)


def run_demo(console: Console, progress_console: Console) -> None:
    """Both episodes; progress displays go to `progress_console`."""
    session = SessionFolder()
    image = fruit_bowl()
    console.rule("1 · A3-Instruct's drift, replayed by the scripted model")
    _drift(console, progress_console, session)
    console.rule("2 · the tiny ArtemisVLM looks closer with crop")
    console.print(f"sample image: {session.save_image('sample', image)}")
    _image_episode(console, progress_console, image, session)


def _drift(console: Console, progress_console: Console, session: SessionFolder) -> None:
    model = open_model("scripted:drafted_call", progress_console)
    runs = {
        constrained: Agent(model, [get_weather], tool_choice="get_weather", constrained=constrained, max_steps=2,
                           max_new_tokens=_DRIFT_TOKENS)
        for constrained in (False, True)
    }
    results = {constrained: agent.run(WEATHER_QUESTION) for constrained, agent in runs.items()}
    console.print(f"[bold]you:[/bold] {WEATHER_QUESTION}  [dim](tool: get_weather, tool_choice get_weather)[/dim]")
    table = Table.grid(expand=True, padding=(0, 1))
    table.add_column(ratio=1)
    table.add_column(ratio=1)
    table.add_row(*(_first_turn(title, results[constrained], runs[constrained].conversation.images, session)
                    for title, constrained in (("unconstrained", False), ("constrained", True))))
    console.print(table)
    console.print(_drift_caption(results[False], results[True]), style="dim")


def _drift_caption(unconstrained: RunResult, constrained: RunResult) -> str:
    free, bound = unconstrained.steps[0], constrained.steps[0]
    think = f"{len(free.thinking.split())} words" if free.thinking.strip() else "empty"
    calls = ", ".join(f"{call.name}({json.dumps(call.arguments, ensure_ascii=False)})" for call in bound.calls)
    return (f"Unconstrained, the think block is {think} and no call comes out: the model drafts a GET request "
            f"that nothing can run, and is told so. Constrained, </think> stays masked until the model has "
            f"reasoned ({len(bound.thinking.split())} words), and then nothing but a <tool_call> that validates "
            f"against get_weather's schema is legal, so the model writes the call it meant: {calls or 'none'}.")


def _first_turn(title: str, result: RunResult, images: ImageStore, session: SessionFolder) -> RenderableType:
    """A run's first model turn as one column: reasoning, text, calls, what went back to the model."""
    step = result.steps[0]
    parts: list[RenderableType] = [reasoning_panel(step.thinking)]
    parts += [Markdown(step.text)] if step.text else []
    parts += [tool_call_panel(call) for call in step.calls]
    parts += [tool_result_panel(item, images, session) for item in step.results]
    return Panel(Group(*parts), title=title, title_align="left")


def _image_episode(console: Console, progress_console: Console, image: Image.Image, session: SessionFolder) -> None:
    model = open_model("tiny", progress_console)
    agent = Agent(model, [crop_region], thinking=Thinking(min_tokens=4, max_tokens=24), tool_choice="crop",
                  max_steps=3, max_new_tokens=64)
    console.print(f"[bold]you:[/bold] \\[image img_0] {IMAGE_QUESTION}")
    result = play(agent.astream(IMAGE_QUESTION, [image]), RunView(console, agent.conversation.images, session))
    console.print(_image_caption(result), style="dim")


def _image_caption(result: RunResult) -> str:
    cropped = next(step for step in result.steps if step.calls)
    after = result.steps[cropped.index]  # the turn that saw the crop
    ending = ("and then it answered (noise too)" if result.stop_reason == "answer"
              else f"and the run ended without an answer ({result.stop_reason})")
    return ("The tiny model's weights are random, so its words are noise; its call is valid because the grammar "
            f"allows nothing else. The crop went back to it as image tokens: the next turn's prompt of "
            f"{after.counters.prompt} tokens reused {after.counters.reused} from the one before and forwarded "
            f"only the rest, {ending}.")
