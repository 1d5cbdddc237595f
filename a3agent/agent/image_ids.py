"""Image-id arguments constrained to the ids the conversation holds.

A parameter marked `"x-image-id": true` in a tool's JSON Schema (`a3agent.tools.ImageId`, the `image`
of crop, zoom, grid and image_info) names an image of the conversation. Before each step the grammar's
copy of the schema gets an `enum` of the ids held now, so under the grammar the model can only write
an image that exists; the prompt's copy stays as it was, so prompts keep extending each other. A new
id set means a new turn grammar, compiled once and then served from the grammar room's cache. While
the conversation holds no image, tools with such a parameter are left out of the grammar.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from a3agent.tools import IMAGE_ID_KEYWORD

__all__ = ["offered_tools"]


def offered_tools(tools: Sequence[dict[str, Any]], image_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The tools (OpenAI form) as the grammar should offer them with `image_ids` held.

    Example: with `["img_0"]`, crop's `image` becomes `{"type": "string", ..., "enum": ["img_0"]}`.
    """
    offered = []
    for tool in tools:
        function = tool["function"]
        constrained = _with_ids(function["parameters"], list(image_ids))
        if constrained == function["parameters"]:
            offered.append(tool)
        elif image_ids:
            offered.append({**tool, "function": {**function, "parameters": constrained}})
    return offered


def _with_ids(schema: Any, image_ids: list[str]) -> Any:
    if isinstance(schema, dict):
        if schema.get(IMAGE_ID_KEYWORD) is True:
            return {**schema, "enum": image_ids}
        return {key: _with_ids(value, image_ids) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_with_ids(item, image_ids) for item in schema]
    return schema
