"""`--model` on the command line: a checkpoint folder, a cached hub id, `tiny`, or `scripted:NAME`.

`scripted:NAME` is the weightless scripted model (`a3agent.model.scripted`) following a shipped script:
`empty_think` and `drafted_call` reproduce A3-Instruct's drift, `weather_episode` is a well-behaved
tool-calling episode (it calls `get_weather`). It is there for tests and demos. Loading shows a
progress display, since a real checkpoint takes a while and the tiny model is built on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from a3agent.model.loading import LoadedModel

__all__ = ["SCRIPTED_PREFIX", "DTYPES", "open_model", "progress"]

SCRIPTED_PREFIX = "scripted:"
DTYPES = ("bfloat16", "float16", "float32")


def open_model(spec: str, console: Console, *, device: str | None = None, dtype: str | None = None) -> LoadedModel:
    """The model `spec` names, loaded under a progress display on `console` (in place of transformers' bars)."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    if spec.startswith(SCRIPTED_PREFIX):
        return _scripted(spec.removeprefix(SCRIPTED_PREFIX), console)
    import torch

    from a3agent.model.loading import load_model

    if dtype is not None and dtype not in DTYPES:
        raise CommandLineError(f"unknown --dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    if spec == "tiny":
        from a3agent.model.tiny import tiny_checkpoint

        with progress(console, "preparing the tiny A3-shaped model (built on first use)"):
            spec = str(tiny_checkpoint())
    with progress(console, f"loading {spec}"):
        return load_model(spec, device=device, dtype=getattr(torch, dtype) if dtype else None)


def _scripted(name: str, console: Console) -> LoadedModel:
    from a3agent.model.scripted import SCRIPT_NAMES, load_scripted

    if name not in SCRIPT_NAMES:
        raise CommandLineError(f"unknown script {name!r} in --model scripted:NAME: choose one of "
                               f"{', '.join(SCRIPT_NAMES)}")
    with progress(console, f"preparing the scripted model {name!r} (its tokenizer is built on first use)"):
        return load_scripted(name)


@contextmanager
def progress(console: Console, what: str) -> Iterator[None]:
    """A spinner with the elapsed time while `what` goes on, on a terminal; gone once it is done."""
    if not console.is_terminal:
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        bar.add_task(what, total=None)
        yield
