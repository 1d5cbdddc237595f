"""The body of `POST /v1/chat/completions`, as pydantic models: what is accepted, checked on arrival.

Fields OpenAI defines that this server does not implement are refused when set to anything but their
neutral value (`n` > 1, `logprobs`, penalties, `logit_bias`), never silently ignored; fields that do
not change the output (`user`, `metadata`, `store`, ...) and unknown extensions are ignored. Thinking
follows vLLM: `chat_template_kwargs.enable_thinking`, and the extra fields `min_thinking_tokens` /
`max_thinking_tokens`. Not handled here: whether the model, images or schemas are acceptable (that
needs the model: `messages.py`, `constraint.py`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from a3agent.serve.errors import BadRequest

__all__ = [
    "AssistantMessage",
    "ChatCompletionRequest",
    "ImageContent",
    "Message",
    "NamedToolChoice",
    "ResponseFormat",
    "SystemMessage",
    "TextContent",
    "ToolCall",
    "ToolDefinition",
    "ToolMessage",
    "UserMessage",
    "check_supported",
]

MAX_STOP_STRINGS = 4
"""OpenAI's limit on `stop`."""
MAX_STOP_CHARS = 1024
"""Longest stop string, in characters. Every generated token is searched for each stop string over
that string's length of text, and the stream holds back up to as much, so the cost of each token
(on the model's one thread, which every request shares) grows with it; real stops are short markers."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class TextContent(_Body):
    """A text part of a message's content."""

    type: Literal["text"]
    text: str


class ImageURL(_Body):
    url: str
    """A `data:image/...;base64,` URL, or http(s) when the server allows image URLs."""
    detail: Literal["auto", "low", "high"] = "auto"
    """Accepted for compatibility; the model's image processor decides the resolution."""


class ImageContent(_Body):
    """An image part of a user message."""

    type: Literal["image_url"]
    image_url: ImageURL


class SystemMessage(_Body):
    """Instructions; `developer` is OpenAI's newer name for the same role."""

    role: Literal["system", "developer"]
    content: str | list[TextContent]


class UserMessage(_Body):
    role: Literal["user"]
    content: str | list[Annotated[TextContent | ImageContent, Field(discriminator="type")]]


class FunctionCall(_Body):
    name: str
    arguments: str
    """The arguments object as a JSON string, as OpenAI returns it."""


class ToolCall(_Body):
    """A call the assistant made, sent back in the history."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(_Body):
    role: Literal["assistant"]
    content: str | list[TextContent] | None = None
    reasoning_content: str | None = None
    """The turn's thinking, as this server (and vLLM, DeepSeek) returns it."""
    tool_calls: list[ToolCall] | None = None


class ToolMessage(_Body):
    """A tool's result; `tool_call_id` names the call it answers."""

    role: Literal["tool"]
    content: str | list[TextContent]
    tool_call_id: str


Message = Annotated[SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")]


class FunctionDefinition(_Body):
    name: str = Field(min_length=1)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    """JSON Schema of the arguments; the engine enforces it whether or not `strict` is set."""
    strict: bool | None = None


class ToolDefinition(_Body):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(_Body):
    name: str


class NamedToolChoice(_Body):
    """`{"type": "function", "function": {"name": ...}}`: a call to that tool and nothing else."""

    type: Literal["function"]
    function: NamedFunction


class JSONSchemaFormat(_Body):
    name: str
    description: str | None = None
    schema_: dict[str, Any] | bool = Field(default_factory=dict, alias="schema")
    strict: bool | None = None
    """Accepted; the engine enforces the schema either way."""


class ResponseFormat(_Body):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type json_schema needs a json_schema object")
        return self


class StreamOptions(_Body):
    include_usage: bool = False
    """Send a last chunk with the request's usage (and empty choices)."""


class ChatTemplateKwargs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enable_thinking: bool = True
    """False renders the generation prompt with an empty, closed think block (vLLM's switch)."""


class ChatCompletionRequest(_Body):
    """One chat completion request; `check_supported` refuses what this server does not do."""

    model: str
    messages: list[Message] = Field(min_length=1)
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool = True
    response_format: ResponseFormat | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0, le=2)
    """OpenAI's default, 1; 0 is greedy."""
    top_p: float = Field(default=1.0, gt=0, le=1)
    seed: int | None = Field(default=None, ge=-(2**63), le=2**64 - 1)
    """The range a torch generator takes."""
    stop: str | list[str] | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    chat_template_kwargs: ChatTemplateKwargs = ChatTemplateKwargs()
    min_thinking_tokens: int | None = Field(default=None, ge=0)
    max_thinking_tokens: int | None = Field(default=None, ge=0)
    logprobs: bool = False
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @property
    def thinking(self) -> bool:
        """Whether the generation prompt opens `<think>`."""
        return self.chat_template_kwargs.enable_thinking

    @property
    def stop_strings(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])

    @property
    def requested_max_tokens(self) -> int | None:
        """`max_completion_tokens`, or the older `max_tokens`."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    @property
    def choice(self) -> str:
        """`tool_choice` as the turn grammar takes it: auto, none, required or a tool's name."""
        if isinstance(self.tool_choice, NamedToolChoice):
            return self.tool_choice.function.name
        return self.tool_choice or ("auto" if self.tools else "none")


def check_supported(request: ChatCompletionRequest) -> None:
    """Raise `BadRequest` naming the first field set to something this server does not do."""
    refused = {
        "n": request.n != 1,
        "logprobs": request.logprobs or request.top_logprobs is not None,
        "logit_bias": bool(request.logit_bias),
        "presence_penalty": request.presence_penalty != 0,
        "frequency_penalty": request.frequency_penalty != 0,
    }
    for name, set_ in refused.items():
        if set_:
            raise BadRequest(f"{name} is not supported: this server decodes one sequence, without penalties "
                             "or logprobs; leave it out", param=name, code="unsupported_parameter")
    if len(request.stop_strings) > MAX_STOP_STRINGS:
        raise BadRequest(f"stop takes at most {MAX_STOP_STRINGS} strings", param="stop")
    if any(len(stop) > MAX_STOP_CHARS for stop in request.stop_strings):
        raise BadRequest(f"a stop string may be at most {MAX_STOP_CHARS} characters long", param="stop")
    thinking_bounds = request.min_thinking_tokens is not None or request.max_thinking_tokens is not None
    if thinking_bounds and not request.thinking:
        raise BadRequest("min_thinking_tokens/max_thinking_tokens need thinking on, and "
                         "chat_template_kwargs.enable_thinking is false", param="max_thinking_tokens")
    formatted = request.response_format is not None and request.response_format.type != "text"
    if formatted and request.tools and request.choice != "none":
        raise BadRequest("response_format with tools is not supported: the turn is either calls or the "
                         "formatted answer; drop one (a tool whose arguments are the answer does both)",
                         param="response_format")
