"""`--tools` on the command line: `builtin`, `none`, or `module:attr` naming the person's own tools.

`attr` may be a `Toolbox`, one tool (a `@tool` function or a plain typed function), or a list of
them. The current folder is importable, as with `python -m`, so `--tools mytools:toolbox` finds
`./mytools.py`. The built-ins are `builtin_tools()` with its defaults: file reading off, private
addresses refused. `known_tool_names` names the tools of `builtin` and `none` without importing any,
so a `--tool-choice` that names none of them is refused fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from a3agent.errors import CommandLineError

if TYPE_CHECKING:
    from a3agent.tools import Toolbox

__all__ = ["BUILTIN_TOOL_NAMES", "known_tool_names", "load_toolbox"]

BUILTIN_TOOL_NAMES = ("crop", "zoom", "grid", "image_info", "calculate", "now", "http_get")
"""The names of `builtin_tools()`'s tools, in its order, known without importing the tools (a test keeps
them in step)."""

_MISSING = object()
_FORMS = "give 'builtin', 'none' or 'module:attr' (e.g. mytools:toolbox for ./mytools.py)"


def load_toolbox(spec: str) -> Toolbox:
    """The toolbox `spec` names; a bad spec raises `CommandLineError`, a bad tool `ToolDefinitionError`."""
    if spec == "builtin":
        from a3agent.tools import builtin_tools

        return builtin_tools()
    if spec == "none":
        from a3agent.tools import Toolbox

        return Toolbox()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CommandLineError(f"bad --tools {spec!r}: {_FORMS}")
    value = getattr(_import(module_name, spec), attr, _MISSING)
    if value is _MISSING:
        raise CommandLineError(f"bad --tools {spec!r}: module {module_name!r} has no attribute {attr!r}")
    return _as_toolbox(value, spec)


def known_tool_names(spec: str) -> tuple[str, ...] | None:
    """The names of the tools `load_toolbox(spec)` gives, where they are known without importing them."""
    return {"builtin": BUILTIN_TOOL_NAMES, "none": ()}.get(spec)


def _import(module_name: str, spec: str) -> Any:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise CommandLineError(f"bad --tools {spec!r}: cannot import {module_name!r} ({exc}); {_FORMS}") from exc
    except Exception as exc:
        raise CommandLineError(f"bad --tools {spec!r}: importing {module_name!r} raised "
                               f"{type(exc).__name__}: {exc}") from exc


def _as_toolbox(value: Any, spec: str) -> Toolbox:
    from a3agent.tools import Tool, Toolbox

    if isinstance(value, Toolbox):
        return value
    if isinstance(value, Tool) or callable(value):
        return Toolbox([value])
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, dict)):
        return Toolbox(value)
    raise CommandLineError(f"bad --tools {spec!r}: a {type(value).__name__} is not a Toolbox, a tool "
                           "or a list of tools")
