"""Every exception a3agent raises, in one place.

    A3AgentError
    ├── ModelError
    │   ├── ModelNotFound
    │   ├── NotCachedLocally
    │   ├── UnsupportedArchitecture
    │   ├── ImageError
    │   │   └── ImageTooLarge
    │   └── ImagesNotSupported
    ├── GrammarError
    │   ├── MalformedGrammar
    │   ├── UnsupportedSchema
    │   │   └── GrammarTooComplex
    │   ├── UnsatisfiableSchema
    │   ├── UnknownDialect
    │   ├── ToolChoiceError
    │   ├── VocabularyError
    │   └── ConstraintError
    ├── ToolError
    │   ├── ToolDefinitionError
    │   ├── ToolArgumentsError
    │   ├── UnknownTool
    │   ├── ToolFailed
    │   │   └── MCPCallFailed
    │   │       ├── MCPTimeout
    │   │       └── MCPDisconnected
    │   └── MCPServerError
    ├── AgentError
    │   ├── ConversationFileError
    │   └── ContextOverflow
    ├── CollectError
    │   ├── TasksFileError
    │   └── TrajectoryFileError
    └── CommandLineError

Each message says what went wrong and what to do about it.
"""

__all__ = [
    "A3AgentError",
    "ModelError",
    "ModelNotFound",
    "NotCachedLocally",
    "UnsupportedArchitecture",
    "ImageError",
    "ImageTooLarge",
    "ImagesNotSupported",
    "GrammarError",
    "MalformedGrammar",
    "UnsupportedSchema",
    "GrammarTooComplex",
    "UnsatisfiableSchema",
    "UnknownDialect",
    "ToolChoiceError",
    "VocabularyError",
    "ConstraintError",
    "ToolError",
    "ToolDefinitionError",
    "ToolArgumentsError",
    "UnknownTool",
    "ToolFailed",
    "MCPCallFailed",
    "MCPTimeout",
    "MCPDisconnected",
    "MCPServerError",
    "AgentError",
    "ConversationFileError",
    "ContextOverflow",
    "CollectError",
    "TasksFileError",
    "TrajectoryFileError",
    "CommandLineError",
]


class A3AgentError(Exception):
    """Base class of every error a3agent raises on purpose."""


# -- model room -------------------------------------------------------------------------------


class ModelError(A3AgentError):
    """Loading or running a model failed."""


class ModelNotFound(ModelError):
    """A local model path does not exist or holds no checkpoint."""


class NotCachedLocally(ModelError):
    """A hub id was given, nothing is cached and the hub cannot be reached."""


class UnsupportedArchitecture(ModelError):
    """The checkpoint's architecture is neither ArtemisVLM nor a causal LM transformers can load."""


class ImageError(ModelError):
    """An image could not be read or decoded."""


class ImageTooLarge(ImageError):
    """An image declares more pixels than `MAX_IMAGE_PIXELS` and cannot be decoded reduced to fit; it is
    refused from its header, before any pixel is decoded."""


class ImagesNotSupported(ModelError):
    """An image was given to a text-only model."""


# -- grammar room -----------------------------------------------------------------------------


class GrammarError(A3AgentError):
    """A grammar could not be built or compiled."""


class MalformedGrammar(GrammarError):
    """The lark grammar text does not parse, or uses a construct the engine cannot compile."""


class UnsupportedSchema(GrammarError):
    """A JSON Schema uses a keyword or value the compiler refuses rather than relax silently.

    Carries `path` (JSON pointer of the offending node) and `keyword`.
    """

    def __init__(self, path: str, keyword: str, reason: str) -> None:
        self.path = path
        self.keyword = keyword
        super().__init__(f"{path or '/'}: unsupported '{keyword}': {reason}")


class GrammarTooComplex(UnsupportedSchema):
    """Compiling would pass one of the engine's cost limits (`a3agent.grammars.Limits`).

    Raised within the compile time limit, never after it. Carries `path` (JSON pointer, "" for a
    grammar that is not a schema), `limit` (the name of the `Limits` field) and `value`.
    """

    def __init__(self, path: str, limit: str, value: object, what: str = "") -> None:
        self.path = path
        self.keyword = limit
        self.limit = limit
        self.value = value
        detail = f"{what}: " if what else ""
        GrammarError.__init__(
            self, f"{path or '/'}: too complex to compile: {detail}past the limit {limit}={value!r}; simplify "
            f"the schema or raise the limit with a3agent.grammars.set_limits({limit}=...)",
        )


class UnsatisfiableSchema(GrammarError):
    """A JSON Schema admits no instance at all (e.g. minLength > maxLength)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"{path or '/'}: no JSON value can satisfy this schema: {reason}")


class UnknownDialect(GrammarError):
    """A tool-call dialect name is not one of the known dialects."""


class ToolChoiceError(GrammarError):
    """`tool_choice` names a tool that is not offered, or requires a call when no tool is offered."""


class VocabularyError(GrammarError):
    """A tokenizer's tokens cannot be mapped to byte strings."""


class ConstraintError(GrammarError):
    """A constraint broke its contract during decoding: its mask allowed no token, or it refused a
    token it had allowed, forced or offered as completion. A bug in the constraint, not in the input."""


# -- tools room -------------------------------------------------------------------------------


class ToolError(A3AgentError):
    """A tool could not be defined or invoked."""


class ToolDefinitionError(ToolError):
    """A tool was refused at registration: untyped parameter, duplicate name, bad schema."""


class ToolArgumentsError(ToolError):
    """The arguments of a call do not validate against the tool's schema."""


class UnknownTool(ToolError):
    """A call names a tool the toolbox does not hold."""


class ToolFailed(ToolError):
    """Raised by a tool that cannot do what the call asked; its message goes back to the model, which can act on it."""


class MCPCallFailed(ToolFailed):
    """A call to an MCP server's tool got no result: the server answered with a protocol error."""


class MCPTimeout(MCPCallFailed):
    """An MCP tool call passed its timeout; the call was cancelled on the server, which stays connected."""


class MCPDisconnected(MCPCallFailed):
    """The MCP server is gone: its process exited, its connection closed, or it sent a message past the
    size cap (the connection is then closed on purpose). Every later call to it fails the same way."""


class MCPServerError(ToolError):
    """An MCP server could not be started, reached or listed, or its `mcpServers` config is malformed."""


# -- agent room -------------------------------------------------------------------------------


class AgentError(A3AgentError):
    """The agent loop was misconfigured or misused."""


class ConversationFileError(AgentError):
    """A saved conversation could not be read back."""


class ContextOverflow(AgentError):
    """The conversation has outgrown the model's context: no room is left for the next step."""


# -- collect room -----------------------------------------------------------------------------


class CollectError(A3AgentError):
    """A collection, export or report cannot run as asked (its options, its files)."""


class TasksFileError(CollectError):
    """A tasks file cannot be read at all, or holds more tasks than one collection takes (bad lines are
    skipped and reported, not raised)."""


class TrajectoryFileError(CollectError):
    """An output folder's `trajectories.jsonl` is missing, or holds a line that is not an episode."""


# -- command line -----------------------------------------------------------------------------


class CommandLineError(A3AgentError):
    """Bad input at the terminal: an unknown slash command, a bad `--tools` spec or `--model scripted:` name."""
