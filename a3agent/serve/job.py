"""One request made ready to decode: its prompt, its token budget, its grammar, its sampling.

Runs on the model's thread (`worker.py`): rendering, image processing and grammar compiles touch
caches that the decode loop also uses. The budget follows OpenAI: an explicit `max_tokens` must fit
the context beside the prompt (else 400); without one, `default_max_tokens` is cut to the room left.
A budget below the shortest turn the grammar allows is a 400 too: the decode loop would have to
overrun it to end the turn validly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from a3agent.agent.context import step_budget
from a3agent.errors import A3AgentError, ContextOverflow
from a3agent.grammars import Grammar
from a3agent.model.loading import LoadedModel
from a3agent.model.prompt import PromptInputs
from a3agent.model.sampling import SamplingParams
from a3agent.model.template import encode_prompt
from a3agent.serve.constraint import request_grammar, tool_specs
from a3agent.serve.errors import BadRequest, from_error
from a3agent.serve.options import ServeOptions
from a3agent.serve.schema import ChatCompletionRequest

__all__ = ["Job", "build_job"]


@dataclass(frozen=True)
class Job:
    """What the decode loop needs for one request, and what reading its output needs."""

    prompt: PromptInputs
    grammar: Grammar
    max_new_tokens: int
    sampling: SamplingParams
    thinking: bool
    """The generation prompt opened `<think>`."""
    stop: list[str] = field(default_factory=list)
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tool name -> parameters schema, for reading the calls."""


def build_job(
    request: ChatCompletionRequest,
    chat: Sequence[dict[str, Any]],
    images: Sequence[Image.Image],
    loaded: LoadedModel,
    options: ServeOptions,
) -> Job:
    """The job for `request`, its messages already mapped; raises `BadRequest` for what cannot be served."""
    tools = tool_specs(request)
    try:
        prompt = encode_prompt(loaded, chat, images, tools or None, thinking=request.thinking)
        budget = _budget(request, len(prompt.input_ids), loaded.context_length, options)
    except A3AgentError as exc:
        raise from_error(exc) from None
    grammar = request_grammar(request, tools, loaded.tokenizer, options.dialect, budget)
    _check_room(grammar, budget, request)
    return Job(
        prompt=prompt,
        grammar=grammar,
        max_new_tokens=budget,
        sampling=SamplingParams(temperature=request.temperature, top_p=request.top_p, seed=request.seed),
        thinking=request.thinking,
        stop=request.stop_strings,
        tools={tool["name"]: tool.get("parameters", {}) for tool in tools},
    )


def _check_room(grammar: Grammar, budget: int, request: ChatCompletionRequest) -> None:
    """A budget below the grammar's shortest turn could only be overrun: refuse it."""
    shortest = len(grammar.matcher().completion())
    if budget < shortest:
        param = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
        raise BadRequest(f"{param} is {budget}, but the shortest turn this request's grammar allows (think "
                         f"block, answer or call, end) takes {shortest} tokens: ask for more", param=param)


def _budget(request: ChatCompletionRequest, prompt_tokens: int, context: int | None, options: ServeOptions) -> int:
    wanted = request.requested_max_tokens
    if wanted is None:
        try:
            return step_budget(options.default_max_tokens, prompt_tokens, context)
        except ContextOverflow:
            raise BadRequest(f"the prompt is {prompt_tokens} tokens, which leaves no room for an answer in the "
                             f"model's context of {context}: send a shorter conversation", param="messages",
                             code="context_length_exceeded") from None
    param = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    if wanted > options.max_tokens_limit:
        raise BadRequest(f"{param} is {wanted}; this server allows at most {options.max_tokens_limit}", param=param)
    if context is not None and prompt_tokens + wanted > context:
        raise BadRequest(f"the prompt is {prompt_tokens} tokens and {param} asks for {wanted} more, past the "
                         f"model's context of {context}: ask for fewer, or send a shorter conversation",
                         param=param, code="context_length_exceeded")
    return wanted
