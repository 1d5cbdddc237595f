"""a3agent.serve: an OpenAI-compatible chat-completions endpoint whose tool calls the grammar guarantees.

`a3agent serve --model ...` runs it; `create_app(loaded, ServeOptions(model_name=...))` builds the
ASGI app for embedding or tests. Modules: `app` (routes), `schema` (the request body), `messages`
(OpenAI messages -> the chat template), `images`, `constraint` (the turn's grammar), `job`,
`worker` (the model's thread, cancellation), `queue` (fair, bounded), `turn_events` and `chunks`
(the response), `errors`, `options`, `server` (uvicorn, bind rule).

It does not batch: one sequence at a time, requests queued. Many concurrent users belong on a
batching engine. It does not run tools: the client runs its own and sends the results back.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from a3agent.serve.app import create_app
    from a3agent.serve.options import ServeOptions

__all__ = ["ServeOptions", "create_app"]
_HOMES = {"ServeOptions": "a3agent.serve.options", "create_app": "a3agent.serve.app"}


def __getattr__(name: str) -> Any:
    """Import on first use, so the command line can check its options (`server.check_bind`) without torch."""
    if name not in _HOMES:
        raise AttributeError(f"module 'a3agent.serve' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
