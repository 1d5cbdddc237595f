"""Errors the endpoint answers with, in OpenAI's JSON error shape, and how a3agent's own map to them.

    APIError                      {"error": {"message", "type", "param", "code"}} with a status
    ├── BadRequest          400   invalid_request_error: bad JSON, fields, images, schemas, choices
    ├── Unauthorized        401   a missing or wrong Bearer key (when the server has one)
    ├── ModelNotFound       404   a `model` this process does not serve, or an unknown route
    ├── BodyTooLarge        413   a request body over `ServeOptions.max_body_bytes`
    └── QueueFull           429   `max_waiting` requests already wait; carries Retry-After

Bad input is never a 500: every a3agent error that input can cause maps to a 400 here (`from_error`);
a 500 is a bug (a `ConstraintError`, an exception nobody expected).
"""

from __future__ import annotations

from typing import Any

from a3agent.errors import (
    A3AgentError,
    AgentError,
    ConstraintError,
    GrammarError,
    ImageError,
    ImagesNotSupported,
    ToolError,
    UnsatisfiableSchema,
    UnsupportedSchema,
)

__all__ = [
    "APIError",
    "BadRequest",
    "BodyTooLarge",
    "ModelNotFound",
    "QueueFull",
    "Unauthorized",
    "error_body",
    "from_error",
]


class APIError(Exception):
    """An answer in OpenAI's error shape: `status`, `message`, `type`, `param`, `code`."""

    status = 500
    type = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message, self.param, self.code = message, param, code
        self.extra = extra or {}
        """More fields of the error object, e.g. `path` (the JSON pointer a refused schema names)."""
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body: `{"error": {...}}`."""
        return error_body(self.message, self.type, self.param, self.code, self.extra)


class BadRequest(APIError):
    """The request cannot be served as it is: the message says what to change."""

    status = 400
    type = "invalid_request_error"


class Unauthorized(APIError):
    """The server was started with `--api-key` and the request did not carry it."""

    status = 401
    type = "invalid_request_error"


class ModelNotFound(APIError):
    """The request names a model this process does not serve (or a route that does not exist)."""

    status = 404
    type = "invalid_request_error"


class BodyTooLarge(APIError):
    """The request body is over the size limit."""

    status = 413
    type = "invalid_request_error"


class QueueFull(APIError):
    """Too many requests wait for the model already; `Retry-After` says when to try again."""

    status = 429
    type = "rate_limit_error"


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """OpenAI's error object. Example: error_body("no", "invalid_request_error") -> {"error": {...}}"""
    return {"error": {"message": message, "type": type_, "param": param, "code": code, **(extra or {})}}


def from_error(error: A3AgentError, param: str | None = None) -> APIError:
    """The API error for an a3agent error that the request caused; a schema refusal names its JSON path."""
    if isinstance(error, UnsupportedSchema | UnsatisfiableSchema):
        where = f"{param}{error.path}" if param else error.path or "/"
        code = "unsupported_schema" if isinstance(error, UnsupportedSchema) else "unsatisfiable_schema"
        return BadRequest(f"{where}: {error}", param=param, code=code, extra={"path": error.path})
    if isinstance(error, ImageError | ImagesNotSupported):
        return BadRequest(str(error), param=param or "messages", code="invalid_image")
    if isinstance(error, GrammarError | ToolError | AgentError) and not isinstance(error, ConstraintError):
        return BadRequest(str(error), param=param)
    return APIError(f"{type(error).__name__}: {error}")
