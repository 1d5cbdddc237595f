"""The ASGI app: OpenAI's `GET /v1/models` and `POST /v1/chat/completions` over one model.

A request goes: body read under the size limit (413) -> fields checked (400) -> the model named
(404) -> a place in line (429) -> its images loaded while it waits -> the model's turn: the job
built (400 for a refused schema or an over-long prompt) and decoded under its grammar, streamed as
server-sent events or answered whole. Starlette rather than FastAPI: the body is parsed by hand
(to bound its size and answer in OpenAI's error shape), so FastAPI's request models would add
nothing but a dependency. The server runs the model and the grammar, never the tools: the client
runs its own and sends the results back.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from a3agent.errors import A3AgentError
from a3agent.model.loading import LoadedModel
from a3agent.serve.chunks import Completion, ResponseIds, event_delta
from a3agent.serve.errors import (
    APIError,
    BadRequest,
    BodyTooLarge,
    ModelNotFound,
    Unauthorized,
    error_body,
    from_error,
)
from a3agent.serve.images import ImageLoader
from a3agent.serve.job import Job, build_job
from a3agent.serve.messages import to_template_messages
from a3agent.serve.options import ServeOptions
from a3agent.serve.queue import GenerationQueue, Place
from a3agent.serve.schema import ChatCompletionRequest, check_supported
from a3agent.serve.worker import ClientGone, ModelWorker, TurnEnd

__all__ = ["Server", "create_app"]

log = logging.getLogger("a3agent.serve")

CLIENT_CLOSED = 499
"""The status logged for a whole response whose client left before it was ready (nginx's code)."""


@dataclass
class Server:
    """What the routes share: the options, the model's worker, the queue in front of it."""

    options: ServeOptions
    worker: ModelWorker
    queue: GenerationQueue
    images: ImageLoader
    started: int


def create_app(loaded: LoadedModel, options: ServeOptions) -> Starlette:
    """The app serving `loaded` as `options.model_name`; `app.state.server` is its `Server`."""
    server = Server(options, ModelWorker(loaded, options.dialect), GenerationQueue(options.max_waiting),
                    ImageLoader(options), int(time.time()))
    app = Starlette(
        routes=[
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model:path}", get_model, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        ],
        exception_handlers={APIError: _api_error, A3AgentError: _a3agent_error, HTTPException: _http_error,
                            Exception: _server_error},
        lifespan=_closing(server.worker),
    )
    app.state.server = server
    return app


def _closing(worker: ModelWorker) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the model's thread stops with the server."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        worker.close()

    return lifespan


async def list_models(request: Request) -> Response:
    server = _authorized(request)
    return JSONResponse({"object": "list", "data": [_model_card(server)]})


async def get_model(request: Request) -> Response:
    server = _authorized(request)
    _check_model(server, request.path_params["model"])
    return JSONResponse(_model_card(server))


async def chat_completions(request: Request) -> Response:
    server = _authorized(request)
    body = await _read_body(request, server.options.max_body_bytes)
    chat_request = _parse(body)
    _check_model(server, chat_request.model)
    check_supported(chat_request)
    place = server.queue.reserve()
    try:
        chat, images = await to_template_messages(chat_request.messages, server.images, server.options.max_images)
        await place.acquire()
        job = await server.worker.call(build_job, chat_request, chat, images, server.worker.loaded, server.options)
    except BaseException:
        place.release()
        raise
    ids = ResponseIds(server.options.model_name)
    if chat_request.stream:
        usage = chat_request.stream_options is not None and chat_request.stream_options.include_usage
        events = _stream(server, job, place, ids, usage)
        return EventSourceResponse(events, background=BackgroundTask(place.release))
    return await _whole(server, job, place, ids, request)


async def _whole(server: Server, job: Job, place: Place, ids: ResponseIds, request: Request) -> Response:
    completion = Completion(ids)
    try:
        async for event in server.worker.run(job, request.is_disconnected):
            completion.add(event)
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED)
    finally:
        place.release()
    return JSONResponse(completion.body())


async def _stream(server: Server, job: Job, place: Place, ids: ResponseIds, usage: bool) -> AsyncIterator[str]:
    """The SSE data lines of one streamed turn; an error after the first chunk is an `error` object."""
    try:
        yield json.dumps(ids.chunk({"role": "assistant", "content": ""}))
        async for event in server.worker.run(job):
            if isinstance(event, TurnEnd):
                yield json.dumps(ids.chunk({}, event.finish_reason))
                if usage:
                    yield json.dumps(ids.usage_chunk(event.usage))
            elif (delta := event_delta(event)) is not None:
                yield json.dumps(ids.chunk(delta))
        yield "[DONE]"
    except Exception as exc:  # the status line is sent: the error can only travel as an event
        log.exception("a streamed generation failed")
        yield json.dumps(error_body(f"{type(exc).__name__}: {exc}", "server_error"))
    finally:
        place.release()


def _authorized(request: Request) -> Server:
    server: Server = request.app.state.server
    key = server.options.api_key
    if key is None:
        return server
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
        raise Unauthorized("missing or incorrect API key: send Authorization: Bearer <the server's --api-key>",
                           code="invalid_api_key")
    return server


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit():
        raise BadRequest("Content-Length is not a number")
    if int(declared) > limit:
        raise BodyTooLarge(f"the request body is {declared} bytes; this server takes at most {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"the request body is over this server's limit of {limit} bytes")
    return bytes(body)


def _parse(body: bytes) -> ChatCompletionRequest:
    """The request; a body that does not fit is a `BadRequest` naming the most specific field that is wrong."""
    try:
        return ChatCompletionRequest.model_validate_json(body)
    except ValidationError as exc:
        # A union reports one error per member: the one that got deepest into the body says most.
        error = max(exc.errors(include_url=False), key=lambda error: len(error["loc"]))
        param = _param(error["loc"], json.loads(body), error["type"] == "missing") if error["loc"] else None
        raise BadRequest(f"{param or 'body'}: {error['msg']}", param=param) from None


def _param(loc: tuple[int | str, ...], body: Any, missing: bool) -> str | None:
    """Where `loc` points in `body`, as the other errors write it (`messages[0].content`): pydantic's
    labels for union members and message roles (`str`, `user`) are not places in the body and go.
    `missing`: the last part is a required field the body lacks."""
    param, value = "", body
    for index, part in enumerate(loc):
        last_missing = missing and index == len(loc) - 1
        if isinstance(value, list) and isinstance(part, int) and part < len(value):
            param, value = f"{param}[{part}]", value[part]
        elif isinstance(value, dict) and isinstance(part, str) and (part in value or last_missing):
            param, value = f"{param}.{part}" if param else part, value.get(part)
    return param or None


def _check_model(server: Server, name: str) -> None:
    if name != server.options.model_name:
        raise ModelNotFound(f"the model {name!r} does not exist here; this server serves "
                            f"{server.options.model_name!r}", param="model", code="model_not_found")


def _model_card(server: Server) -> dict[str, Any]:
    return {"id": server.options.model_name, "object": "model", "created": server.started, "owned_by": "a3agent"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _a3agent_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, A3AgentError)
    return await _api_error(request, from_error(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = ModelNotFound if exc.status_code == 404 else BadRequest
    error = kind(f"{request.method} {request.url.path}: {exc.detail}", code=f"http_{exc.status_code}")
    return JSONResponse(error.body(), status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("request failed", exc_info=exc)
    return JSONResponse(error_body(f"{type(exc).__name__}: {exc}", "server_error"), status_code=500)
