"""The state of one REPL session: the model, tools, settings, the agent and what waits to be sent.

Options live in `AgentSettings`; changing one builds a new `Agent` over the same conversation (an
agent's options are fixed when it is made; the new one re-runs the prompt once, then reuses its cache
again). Images attached with `/image` or `--image` wait here until a message that takes them has
run to its end, so a stopped run keeps them; the last message that ran is kept for `/retry`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from a3agent.agent.agent import Agent
from a3agent.agent.conversation import Conversation
from a3agent.agent.messages import SystemMessage
from a3agent.agent.result import RunResult, total_counters
from a3agent.cli.home import SessionFolder
from a3agent.cli.settings import AgentSettings, build_agent
from a3agent.errors import ImageError
from a3agent.model.decode import DecodeCounters
from a3agent.model.images import load_image
from a3agent.model.loading import LoadedModel
from a3agent.tools import Approve, Toolbox

__all__ = ["ChatSession", "Exchange"]


@dataclass(frozen=True)
class Exchange:
    """A message that ran: what `/retry` sends again, and where its turns start in the conversation."""

    text: str
    images: list[Image.Image]
    start: int


class ChatSession:
    """One REPL session; `agent.conversation` is the conversation going on."""

    def __init__(
        self, model: LoadedModel, toolbox: Toolbox, settings: AgentSettings, approve: Approve | None,
        *, tool_servers: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.model, self.toolbox, self.settings, self.approve = model, toolbox, settings, approve
        self.tool_servers = dict(tool_servers or {})
        """The MCP server of each MCP tool, by tool name (`/tools` shows it)."""
        self.agent: Agent = build_agent(model, toolbox, settings, approve)
        self.pending: list[tuple[str, Image.Image]] = []
        """Attached images (as given, decoded) that go with the next message."""
        self.folder = SessionFolder()
        self.results: list[RunResult] = []
        """Every finished run of the session, for `/stats`."""
        self.last: Exchange | None = None
        """The last message that ran to its end in this conversation."""

    @property
    def conversation(self) -> Conversation:
        return self.agent.conversation

    def change(self, **fields: Any) -> None:
        """Change settings and rebuild the agent; on an error, nothing changes."""
        settings = dataclasses.replace(self.settings, **fields)
        agent = build_agent(self.model, self.toolbox, settings, self.approve)
        agent.conversation = self.conversation
        self.settings, self.agent = settings, agent

    def set_system(self, text: str) -> None:
        """Use `text` as the system prompt, for this conversation and the ones after `/reset`."""
        self.change(system=text)
        messages = self.conversation.messages
        if messages and isinstance(messages[0], SystemMessage):
            messages[0] = SystemMessage(text=text)
        elif messages:
            messages.insert(0, SystemMessage(text=text))
            if self.last is not None:  # its turns moved down by one
                self.last = dataclasses.replace(self.last, start=self.last.start + 1)

    def attach(self, path: str) -> Image.Image:
        """Read an image now (a bad file fails here, not mid-run) and keep it for the next message.

        Only a regular file is opened: a FIFO would block the REPL until something writes to it."""
        file = Path(path).expanduser()
        if file.exists() and not file.is_file():
            raise ImageError(f"{path}: not a regular file (a folder, a pipe or a device); attach an image file")
        image = load_image(file)
        self.pending.append((path, image))
        return image

    def pending_images(self) -> list[Image.Image]:
        return [image for _, image in self.pending]

    def ran(self, exchange: Exchange, result: RunResult, took_attached: bool) -> None:
        """Record a message that ran to its end; attached images it took are no longer pending."""
        if took_attached:
            self.pending.clear()
        self.last = exchange
        self.results.append(result)

    def reset(self, conversation: Conversation | None = None) -> None:
        """Start over (or go on with `conversation`); attached images are dropped."""
        self.agent.conversation = conversation if conversation is not None else Conversation()
        self.pending.clear()
        self.last = None

    def totals(self) -> DecodeCounters:
        """The decode counters summed over every step of the session."""
        return total_counters([step for result in self.results for step in result.steps])
