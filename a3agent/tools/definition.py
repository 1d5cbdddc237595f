"""`ToolDefinition` (what the model sees) kept apart from `Tool` (the Python function behind it).

A definition is a name, a description and a JSON Schema for the arguments; the grammar is built from
definitions only, so tool sets with no Python behind them (BFCL, OpenAI specs) work there too. A `Tool`
adds the function, its timeout, whether it needs approval, and argument validation: jsonschema for
every tool, then pydantic for tools made from a signature, which coerces into the annotated types.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

from a3agent.errors import ToolArgumentsError, ToolDefinitionError
from a3agent.tools.docstrings import parse_docstring
from a3agent.tools.schema_cycles import find_ref_cycle
from a3agent.tools.schema_from_signature import CONTEXT_PARAMETER, SignatureArguments
from a3agent.tools.schema_transforms import normalise_schema

if TYPE_CHECKING:
    import jsonschema

__all__ = ["DEFAULT_TIMEOUT", "ToolDefinition", "Tool", "tool"]

DEFAULT_TIMEOUT = 60.0
"""Seconds a tool may run before its call is abandoned and reported to the model as timed out."""

_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_REPORTED_ERRORS = 5


@dataclass(frozen=True)
class ToolDefinition:
    """What the model is told about a tool. Refuses a bad name, an invalid parameters schema (one nested
    or sized past what its check may take too: `meta_check.py`), or one whose `$ref`s loop on one value
    (`schema_cycles.py`)."""

    name: str
    """Letters, digits, `_`, `-` and `.` (BFCL has `math.factorial`)."""
    description: str
    parameters: dict[str, Any]
    """A JSON Schema of `"type": "object"` describing the call's arguments."""
    generated: InitVar[bool] = False
    """True for a schema pydantic generated from a signature (`Tool.from_function`): valid by construction,
    so its meta-check, and the import of jsonschema that costs, are skipped; listing tools stays cheap."""

    def __post_init__(self, generated: bool) -> None:
        if not _NAME.fullmatch(self.name):
            raise ToolDefinitionError(
                f"tool name {self.name!r} is not allowed: use letters, digits, '_', '-' and '.' only"
            )
        if not isinstance(self.parameters, dict) or self.parameters.get("type") != "object":
            raise ToolDefinitionError(f"tool {self.name!r}: its parameters schema must have \"type\": \"object\"")
        if not generated:
            from a3agent.tools.meta_check import check_parameters  # jsonschema: tools from signatures never need it

            check_parameters(self.name, self.parameters)
        cycle = find_ref_cycle(self.parameters)
        if cycle is not None:
            raise ToolDefinitionError(
                f"tool {self.name!r}: its parameters schema refers back to itself on the same value "
                f"({' -> '.join(cycle)}), which no validator can finish; let each recursion go through "
                "a property or an array item"
            )

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ToolDefinition:
        """Read the OpenAI form `{"type": "function", "function": {...}}` or the bare BFCL form.

        Python-style types (`dict`, `float`, `tuple`, `any`) are normalised to JSON Schema.
        """
        function = spec["function"] if spec.get("type") == "function" and "function" in spec else spec
        if "name" not in function:
            raise ToolDefinitionError(f"tool spec has no name: {str(spec)[:200]}")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        return cls(function["name"], function.get("description") or "", normalise_schema(parameters))

    def to_openai(self) -> dict[str, Any]:
        """The `{"type": "function", "function": {name, description, parameters}}` form of CONTRACTS.md."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class Tool:
    """A definition plus the Python callable (sync or async) that runs it."""

    definition: ToolDefinition
    function: Callable[..., Any]
    timeout: float | None = DEFAULT_TIMEOUT
    """Seconds before a call is abandoned; None waits forever."""
    requires_approval: bool = False
    """A side-effect tool: each call goes through the toolbox's approval callback first."""
    signature: SignatureArguments | None = field(default=None, repr=False)
    """Set for tools made from a signature: validates into the annotated types."""

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        requires_approval: bool = False,
    ) -> Tool:
        """Schema from the type hints; description and parameter texts from the Google-style docstring."""
        name = name or function.__name__
        summary, descriptions = parse_docstring(inspect.getdoc(function))
        signature = SignatureArguments(function, name, descriptions)
        definition = ToolDefinition(name, description or summary, signature.schema, generated=True)
        return cls(definition, function, timeout, requires_approval, signature)

    @classmethod
    def from_schema(
        cls,
        spec: dict[str, Any],
        function: Callable[..., Any],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        requires_approval: bool = False,
    ) -> Tool:
        """A tool whose schema is given (OpenAI or BFCL form); `function` gets the arguments as keywords."""
        return cls(ToolDefinition.from_spec(spec), function, timeout, requires_approval)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def takes_ctx(self) -> bool:
        """The function declares a `ctx` parameter and receives the `ToolContext` there."""
        if self.signature is not None:
            return self.signature.takes_ctx
        return CONTEXT_PARAMETER in inspect.signature(self.function).parameters

    def to_kwargs(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Validate a call's arguments into the function's keyword arguments; raises ToolArgumentsError.

        A pattern that cannot be matched within `argument_validator.PATTERN_SECONDS` refuses the
        argument, and all of them within `PATTERN_CALL_SECONDS` the call. A `$ref` is never fetched: one
        that does not resolve within the schema is the definition's fault (`ToolDefinitionError`)."""
        import jsonschema
        import referencing.exceptions

        from a3agent.tools.argument_validator import pattern_budget

        try:
            with pattern_budget():
                errors = sorted(self._validator.iter_errors(arguments), key=lambda error: list(map(str, error.absolute_path)))
        except RecursionError:  # arguments nested past jsonschema's stack, or a loop through $anchor/$id refs
            raise ToolArgumentsError("the tool cannot check its arguments: checking them went too deep. If they "
                                     "nest deeply, use flatter arguments; otherwise the fault is in its schema") from None
        except referencing.exceptions.Unresolvable as exc:
            raise ToolDefinitionError(f"tool {self.name!r}: its schema's $ref {exc.ref!r} does not resolve within it") from None
        except (TypeError, AttributeError, ValueError, LookupError, jsonschema.exceptions.UnknownType) as exc:
            # a keyword the meta-schema check could not see, e.g. under a key no draft knows
            raise ToolDefinitionError(f"tool {self.name!r}: its schema cannot check arguments ({type(exc).__name__}: {exc})") from None
        if errors:
            raise ToolArgumentsError("; ".join(_describe(error) for error in errors[:_MAX_REPORTED_ERRORS]))
        return self.signature.to_kwargs(arguments) if self.signature is not None else dict(arguments)

    @cached_property
    def _validator(self) -> jsonschema.protocols.Validator:
        from a3agent.tools.argument_validator import bounded_validator

        return bounded_validator(self.definition.parameters)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, so a decorated function stays usable as one."""
        return self.function(*args, **kwargs)


def _describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where or 'arguments'}: {error.message}"


@overload
def tool(
    function: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    requires_approval: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


@overload
def tool(
    function: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    requires_approval: bool = False,
) -> Tool: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    requires_approval: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` from a typed function: `@tool`, `tool(fn, requires_approval=True)` or
    `@tool(timeout=5, requires_approval=True)`."""

    def make(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            fn, name=name, description=description, timeout=timeout, requires_approval=requires_approval
        )

    return make if function is None else make(function)
