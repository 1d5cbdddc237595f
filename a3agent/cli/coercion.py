"""Option values turned into Python values without pydantic, so that a usage error comes back fast.

The installed typer turns each option's text into its value through a pydantic `TypeAdapter` built per
option. Importing pydantic and building the adapters cost about 0.2 s, paid by every command before it
runs, usage errors included. `light_coercion` gives the options of the kinds `a3agent` declares (str,
bool, int and float with integral bounds, choices, plain paths, lists of paths) a coercion of their own
that returns the same value, or raises the same `BadParameter` with the same message, as typer's. A
value it is not sure of (`' 1_0'`, `'nan'`, a bound like 0.5) goes to typer's own coercion, built only
then. `tests/test_cli_coercion.py` checks that both agree on every option of the command.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._click.core import Context, Parameter
from typer._click.exceptions import BadParameter
from typer._click.utils import _escape_control_characters
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path
from typer._typing import is_literal_type
from typer.core import _TyperParameter

__all__ = ["LightParam", "light_coercion"]

_INT = re.compile(r"[+-]?[0-9]{1,100}", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]{1,100}(?:\.[0-9]{0,100})?|\.[0-9]{1,100})(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)
_DIGIT_OR_WORD = re.compile(r"[0-9]|inf|nan", re.ASCII | re.IGNORECASE)
"""A string without these is no number to pydantic; one with them may be, in forms the patterns above miss."""
_NOT_INT = "Input should be a valid integer, unable to parse string as an integer"
_NOT_FLOAT = "Input should be a valid number, unable to parse string as a number"


class _Unsure(Exception):
    """The value is one this module does not decide: typer's own coercion does."""


class _NotANumber(Exception):
    """A value pydantic cannot read as the number asked for; the message is pydantic's."""


@dataclass(frozen=True)
class LightParam(RuntimeParam):
    """Typer's runtime coercion of one parameter, without pydantic for the values it knows."""

    descriptor: TypeDescriptor

    @cached_property
    def typers_own(self) -> RuntimeParam:
        """Typer's own coercion of this parameter (imports pydantic)."""
        return build_runtime_param(self.descriptor)

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            if get_origin(self.annotation) is list:
                return self._list(value, param, ctx)
            return self._leaf(self.annotation, value, param, ctx)
        except _Unsure:
            return self.typers_own._coerce_value(value, param, ctx)

    def _list(self, value: Any, param: _TyperParameter, ctx: Context) -> list[Any]:
        (item,) = get_args(self.annotation)
        if item is not str and item is not Path:  # items that can fail would need pydantic's nested errors
            raise _Unsure
        return [self._leaf(item, one, param, ctx) for one in (value if isinstance(value, (list, tuple)) else [value])]

    def _leaf(self, annotation: Any, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        info = self.parameter_info
        if info.parser is not None:
            raise _Unsure
        if annotation is str or annotation is bool:
            if not isinstance(value, annotation):
                raise _Unsure
            return str(value) if annotation is str else value
        if annotation is int or annotation is float:
            return self._number(annotation, value, param, ctx)
        if is_literal_type(annotation) or (isinstance(annotation, type) and issubclass(annotation, Enum)):
            choices = get_args(annotation) if is_literal_type(annotation) else list(annotation)
            try:
                return coerce_cli_choice(value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
            except ValueError as exc:  # pydantic's words for a ValueError its validator raised
                raise _bad(f"Value error, {exc}", param, ctx) from exc
        if annotation is Path and info.path_type is None and isinstance(value, (str, Path)):
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        raise _Unsure

    def _number(self, annotation: type[Any], value: Any, param: _TyperParameter, ctx: Context) -> Any:
        info = self.parameter_info
        if info.clamp:
            raise _Unsure
        try:
            number = _parsed(annotation, value)
        except _NotANumber as exc:
            raise _bad(str(exc), param, ctx) from None
        if isinstance(number, float) and math.isnan(number):
            raise _Unsure
        if info.min is not None and info.max is not None and info.min > info.max:
            raise _Unsure
        if info.min is not None and number < info.min:
            raise _bad(f"Input should be greater than or equal to {_bound(info.min)}", param, ctx)
        if info.max is not None and number > info.max:
            raise _bad(f"Input should be less than or equal to {_bound(info.max)}", param, ctx)
        return number


def _parsed(annotation: type[Any], value: Any) -> int | float:
    """`value` as an `annotation` (int or float) the way pydantic reads it; `_Unsure` for forms left to it."""
    if isinstance(value, bool):
        raise _Unsure
    if annotation is int and type(value) is int:
        return value
    if annotation is float and type(value) in (int, float):
        return float(value)
    if not isinstance(value, str):
        raise _Unsure
    pattern, words = (_INT, _NOT_INT) if annotation is int else (_FLOAT, _NOT_FLOAT)
    if pattern.fullmatch(value):
        return int(value) if annotation is int else float(value)
    if _DIGIT_OR_WORD.search(value):
        raise _Unsure
    raise _NotANumber(words)


def _bound(bound: float) -> str:
    """A bound as pydantic prints it; `_Unsure` for the non-integral ones, which it prints its own way."""
    if isinstance(bound, bool) or not float(bound).is_integer() or abs(bound) >= 2**53:
        raise _Unsure
    return str(int(bound))


def _bad(message: str, param: _TyperParameter, ctx: Context) -> BadParameter:
    return BadParameter(_escape_control_characters(message), ctx=ctx, param=param)


def light_coercion(params: list[Parameter]) -> list[Parameter]:
    """`params` (a command's `get_params`), each typer parameter given its `LightParam` if it has no coercion yet."""
    for param in params:
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            descriptor = param.type_descriptor
            if descriptor.file_annotation is None:
                param._runtime_param = LightParam(descriptor.parameter_info, descriptor.annotation, descriptor)
    return params
