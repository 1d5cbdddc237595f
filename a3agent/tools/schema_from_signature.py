"""A function's signature -> the JSON Schema of its arguments, and a validator into its Python types.

pydantic does the typing work (str, int, float, bool, Literal, Enum, Optional, lists, dicts, nested
models, defaults, `Annotated[..., Field(...)]` constraints); this module adds what tools need on top:
the `ctx` parameter kept out of the schema, every parameter typed, unknown arguments refused, and a
schema without pydantic's titles and with its `$defs` inlined. Model fields get neutral names and the
parameters become aliases, so a parameter may be called `json`, `copy` or `_x` without clashing with
pydantic. An annotation string that does not evaluate, or a default JSON cannot hold (NaN, infinity,
an integer past Python's digit limit), is refused naming its parameter. Does not handle *args,
**kwargs or positional-only parameters: it refuses them.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pydantic

from a3agent.errors import ToolArgumentsError, ToolDefinitionError
from a3agent.tools.schema_transforms import inline_refs, strip_titles

__all__ = ["CONTEXT_PARAMETER", "SignatureArguments"]

CONTEXT_PARAMETER = "ctx"
"""A parameter of this name receives the `ToolContext` and is not part of the schema."""

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class SignatureArguments:
    """The arguments of one function: their JSON Schema, and validation into keyword arguments."""

    def __init__(self, function: Callable[..., Any], name: str, descriptions: dict[str, str]) -> None:
        try:
            signature = inspect.signature(function, eval_str=True)
        except Exception as exc:  # annotation strings are evaluated: any error may come of them
            raise ToolDefinitionError(f"tool {name!r}: cannot read its signature{_failing_annotation(function)}: "
                                      f"{type(exc).__name__}: {exc}") from None
        parameters = [p for p in signature.parameters.values() if p.name != CONTEXT_PARAMETER]
        self.takes_ctx = CONTEXT_PARAMETER in signature.parameters
        self._fields = {p.name: f"p{i}" for i, p in enumerate(parameters)}
        # Any values: passed as **keywords, they share create_model's keyword space with its own options
        definitions: dict[str, Any] = {self._fields[p.name]: _field(p, name, descriptions.get(p.name)) for p in parameters}
        try:
            self._model = pydantic.create_model(
                f"{name}_arguments", __config__=pydantic.ConfigDict(extra="forbid"), **definitions
            )
            self.schema: dict[str, Any] = strip_titles(inline_refs(self._model.model_json_schema()))
        except (pydantic.PydanticUserError, ValueError, RecursionError) as exc:  # the latter two: of a default
            raise ToolDefinitionError(f"tool {name!r}: a parameter type or default has no JSON Schema: {exc}") from None
        _check_json(name, self.schema)

    def to_kwargs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate and coerce `arguments` (e.g. a dict into a nested model); raises ToolArgumentsError."""
        try:
            validated = self._model.model_validate(arguments)
        except pydantic.ValidationError as exc:
            raise ToolArgumentsError("; ".join(_describe(error) for error in exc.errors())) from None
        return {parameter: getattr(validated, field) for parameter, field in self._fields.items()}


def _field(parameter: inspect.Parameter, tool: str, description: str | None) -> tuple[Any, Any]:
    if parameter.kind not in _KEYWORD_KINDS:
        raise ToolDefinitionError(
            f"tool {tool!r}: parameter {parameter.name!r} is {parameter.kind.description}; "
            "tools take named arguments only"
        )
    if parameter.annotation is inspect.Parameter.empty:
        raise ToolDefinitionError(
            f"tool {tool!r}: parameter {parameter.name!r} has no type annotation; annotate it "
            f"(e.g. `{parameter.name}: str`) so the model knows what to pass"
        )
    default = ... if parameter.default is inspect.Parameter.empty else parameter.default
    return parameter.annotation, pydantic.Field(default, alias=parameter.name, description=description)


def _failing_annotation(function: Callable[..., Any]) -> str:
    """` (the annotation 'int[' of parameter 'x')`: the first annotation string that does not evaluate
    on its own, in the function's globals as `inspect` evaluates it; "" when none is found so."""
    try:
        raw = inspect.signature(function)
        scope = getattr(inspect.unwrap(function), "__globals__", {})
    except (TypeError, ValueError):
        return ""
    annotations = [(f"parameter {p.name!r}", p.annotation) for p in raw.parameters.values()]
    for what, annotation in [*annotations, ("the return value", raw.return_annotation)]:
        if isinstance(annotation, str):
            try:
                eval(annotation, scope)  # what eval_str=True did: the author's own annotation
            except Exception:
                return f" (the annotation {annotation!r} of {what})"
    return ""


def _check_json(tool: str, schema: dict[str, Any]) -> None:
    """Refuse a schema JSON cannot hold: a default (or example) that is NaN, infinite or an integer
    past Python's digit limit would break every prompt that lists the tool."""
    parts = [(f"parameter {name!r}", subschema) for name, subschema in schema.get("properties", {}).items()]
    for what, part in [*parts, ("a model it takes", schema.get("$defs", {}))]:
        try:
            json.dumps(part, allow_nan=False)
        except ValueError as exc:
            raise ToolDefinitionError(f"tool {tool!r}: {what} cannot be written in its JSON Schema ({exc}); "
                                      "give it a default that JSON can hold") from None


def _describe(error: Any) -> str:
    where = "/".join(str(part) for part in error["loc"])
    return f"{where or 'arguments'}: {error['msg']}"
