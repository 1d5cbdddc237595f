"""a3agent.tools: what the agent can do. The `@tool` registry, validation, invocation, built-in tools.

Nothing here imports the model, grammar-engine or agent rooms: tools come first in the data flow, and
the grammar is built from their definitions.
"""

from a3agent.tools.builtin import builtin_tools
from a3agent.tools.calculate import calculate
from a3agent.tools.clock import now
from a3agent.tools.context import ToolContext
from a3agent.tools.definition import DEFAULT_TIMEOUT, Tool, ToolDefinition, tool
from a3agent.tools.files import read_text_tool
from a3agent.tools.http import http_get_tool
from a3agent.tools.image_store import IMAGE_ID_KEYWORD, ImageId, ImageStore
from a3agent.tools.images import crop, grid, image_info, zoom
from a3agent.tools.parts import ImagePart, TextPart
from a3agent.tools.results import ResultPart, ToolResult, to_tool_result
from a3agent.tools.toolbox import MAX_STORED_PIXELS, Approve, SchemaCheck, ToolCall, Toolbox

__all__ = [
    "tool",
    "Tool",
    "ToolDefinition",
    "Toolbox",
    "ToolCall",
    "ToolContext",
    "ImageStore",
    "ImageId",
    "IMAGE_ID_KEYWORD",
    "ToolResult",
    "TextPart",
    "ImagePart",
    "ResultPart",
    "to_tool_result",
    "Approve",
    "SchemaCheck",
    "DEFAULT_TIMEOUT",
    "MAX_STORED_PIXELS",
    "builtin_tools",
    "http_get_tool",
    "read_text_tool",
    "crop",
    "zoom",
    "grid",
    "image_info",
    "calculate",
    "now",
]
