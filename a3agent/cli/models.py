"""`--model` on the command line: a checkpoint folder, a cached hub id, `tiny`, or `scripted:NAME`.

`scripted:NAME` is the weightless scripted model (`a3agent.model.scripted`) following a shipped script:
`empty_think` and `drafted_call` reproduce A3-Instruct's drift, `weather_episode` is a well-behaved
tool-calling episode (it calls `get_weather`), `image_drift` drifts on an image task (it means `crop`). It is there for tests and demos. Loading shows a
progress display, since a real checkpoint takes a while and the tiny model is built on first use.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from rich.console import Console

    from a3agent.model.loading import LoadedModel

__all__ = ["SCRIPTED_PREFIX", "SCRIPT_NAMES", "check_script", "open_model", "progress"]

SCRIPTED_PREFIX = "scripted:"
SCRIPT_NAMES = ("empty_think", "drafted_call", "weather_episode", "image_drift")
"""`a3agent.model.scripted.SCRIPT_NAMES`, known here without importing torch (a test keeps them in step)."""


def open_model(
    spec: str, console: Console, *, device: str | None = None, dtype: str | None = None, debug: bool = False
) -> LoadedModel:
    """The model `spec` names, loaded under a progress display on `console`.

    transformers' own progress bars and warnings are silenced unless `debug` asks for them. Once
    it is loaded, the start-up heap (torch, transformers, the tokenizer: hundreds of thousands of
    objects that live as long as the process) is frozen out of the garbage collector's view, so
    a full collection during a decode step walks only what came after, not 50-100 ms of it.
    The command line owns its process; an embedding app makes that choice itself (README).
    """
    check_script(spec)
    scripted = spec.startswith(SCRIPTED_PREFIX)
    if not scripted:
        _check_device(device)  # imports torch but not transformers, so a bad --device is refused sooner
    if not debug:
        _quiet_transformers()
    if scripted:
        return _frozen_heap(_scripted(spec.removeprefix(SCRIPTED_PREFIX), console))
    import torch

    from a3agent.model.loading import load_model

    if spec == "tiny":
        from a3agent.model.tiny import tiny_checkpoint

        with progress(console, "preparing the tiny A3-shaped model (built on first use)"):
            spec = str(tiny_checkpoint())
    with progress(console, f"loading {spec}"):
        return _frozen_heap(load_model(spec, device=device, dtype=getattr(torch, dtype) if dtype else None, progress=debug))


def _frozen_heap(model: LoadedModel) -> LoadedModel:
    """`model`, after collecting the loading's garbage and freezing what remains (see `open_model`)."""
    gc.collect()
    gc.freeze()
    return model


def _quiet_transformers() -> None:
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


def _check_device(device: str | None) -> None:
    """A `--device` this torch cannot use is a usage error in the person's words, not torch's assertion."""
    import torch

    if device is None:
        return
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise CommandLineError(f"unknown --device {device!r}: give cpu, cuda, cuda:N or mps") from None
    if kind == "cuda" and not torch.cuda.is_available():
        build = "has no CUDA support" if torch.version.cuda is None else "finds no CUDA GPU"
        raise CommandLineError(f"--device {device}: this torch ({torch.__version__}) {build}; use --device cpu, "
                               "or install a CUDA build of torch on a machine with an NVIDIA GPU")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise CommandLineError(f"--device {device}: MPS is not available here; use --device cpu")


def check_script(spec: str) -> None:
    """Raise `CommandLineError` for a `--model scripted:NAME` whose script does not exist (fast: no torch)."""
    name = spec.removeprefix(SCRIPTED_PREFIX)
    if spec.startswith(SCRIPTED_PREFIX) and name not in SCRIPT_NAMES:
        raise CommandLineError(f"unknown script {name!r} in --model scripted:NAME: choose one of "
                               f"{', '.join(SCRIPT_NAMES)}")


def _scripted(name: str, console: Console) -> LoadedModel:
    from a3agent.model.scripted import load_scripted

    with progress(console, f"preparing the scripted model {name!r} (its tokenizer is built on first use)"):
        return load_scripted(name)


@contextmanager
def progress(console: Console, what: str) -> Iterator[None]:
    """A spinner with the elapsed time while `what` goes on, on a terminal; gone once it is done."""
    if not console.is_terminal:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        bar.add_task(what, total=None)
        yield
