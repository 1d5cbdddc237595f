"""`--tools` on the command line: `builtin`, `none`, or `module:attr` naming the person's own tools.

`attr` may be a `Toolbox`, one tool (a `@tool` function or a plain typed function), or a list of
them. The current folder is importable, as with `python -m`, so `--tools mytools:toolbox` finds
`./mytools.py`. The built-ins are `builtin_tools()` with its defaults: file reading off, private
addresses refused.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from typing import Any

from a3agent.errors import CommandLineError
from a3agent.tools import Tool, Toolbox, builtin_tools

__all__ = ["load_toolbox"]

_MISSING = object()
_FORMS = "give 'builtin', 'none' or 'module:attr' (e.g. mytools:toolbox for ./mytools.py)"


def load_toolbox(spec: str) -> Toolbox:
    """The toolbox `spec` names; a bad spec raises `CommandLineError`, a bad tool `ToolDefinitionError`."""
    if spec == "builtin":
        return builtin_tools()
    if spec == "none":
        return Toolbox()
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise CommandLineError(f"bad --tools {spec!r}: {_FORMS}")
    value = getattr(_import(module_name, spec), attr, _MISSING)
    if value is _MISSING:
        raise CommandLineError(f"bad --tools {spec!r}: module {module_name!r} has no attribute {attr!r}")
    return _as_toolbox(value, spec)


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
    if isinstance(value, Toolbox):
        return value
    if isinstance(value, Tool) or callable(value):
        return Toolbox([value])
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, dict)):
        return Toolbox(value)
    raise CommandLineError(f"bad --tools {spec!r}: a {type(value).__name__} is not a Toolbox, a tool "
                           "or a list of tools")
