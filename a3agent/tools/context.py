"""What a tool may receive besides its arguments: declare a `ctx: ToolContext` parameter to get it.

The context is per conversation and never part of the tool's schema, so the model cannot forge it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from a3agent.tools.image_store import ImageStore

__all__ = ["ToolContext"]


@dataclass
class ToolContext:
    """Per-conversation state handed to tools that declare a `ctx` parameter."""

    images: ImageStore = field(default_factory=ImageStore)
    """The conversation's images; images that tools return are added here by the toolbox."""
