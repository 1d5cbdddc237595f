"""An episode's conversation as the chat turns of a training row: what artemis-vlm's collator takes.

Turns are plain dicts, images are file paths beside them in the order their `{"type": "image"}` parts
come, absolute and resolved so the rows open from any working directory. Every turn renders, under the
model's chat template, to the text the model was prompted with:
- the system turn carries the tool definitions as the template wrote them into the prompt (the
  collator renders rows without tools);
- an assistant turn is what the model generated after its generation prompt (leading whitespace
  aside), `<think>\\n` included when thinking was on (`{"role": "assistant", "content": "<think>\\nreasoning\\n</think>\\n\\n<tool_call>..."}`),
  the form in which the collator finds a think block;
- tool results are `{"role": "tool", "name", "content"}`, as the agent renders them.

Not handled here: which rows to keep (`export.py`), their length (`length.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from a3agent.agent.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)
from a3agent.collect.trajectory import Episode
from a3agent.errors import TrajectoryFileError
from a3agent.model.template import ChatTemplate

__all__ = ["THINK_PROMPT", "EpisodeChat", "assistant_turn", "episode_chat"]

THINK_PROMPT = "<think>\n"
"""What the generation prompt ends with when thinking is on (DESIGN.md: the A-series template)."""
_SYSTEM_OPEN, _TURN_END = "<|im_start|>system\n", "<|im_end|>\n"


@dataclass(frozen=True)
class EpisodeChat:
    """An episode's turns, images and where each assistant turn is."""

    turns: list[dict[str, Any]]
    images: list[str]
    """Image files (absolute paths) in the order of the turns' image parts."""
    assistant_at: list[tuple[int, int]]
    """Per assistant turn (= per step): its index in `turns` and how many images come before it."""


def episode_chat(episode: Episode, folder: Path, template: ChatTemplate) -> EpisodeChat:
    """The episode as chat turns; image paths are `folder` joined with the episode's image files, resolved."""
    turns: list[dict[str, Any]] = []
    images: list[str] = []
    assistant_at: list[tuple[int, int]] = []
    system = _system_turn(episode, template)
    turns += [system] if system else []
    for message in episode.messages:
        if isinstance(message, AssistantMessage):
            assistant_at.append((len(turns), len(images)))
        turns.extend(_turns(message, episode, folder, images))
    return EpisodeChat(turns, images, assistant_at)


def assistant_turn(message: AssistantMessage) -> dict[str, Any]:
    """The turn as the model wrote it, after the generation prompt's `<think>\\n` when it opened one.

    Leading whitespace is dropped: right after the prompt's newline, the collator's tokenizer would merge
    it into the prompt's last token, which is masked, and the target would lose it.
    """
    if message.raw is None:
        raise TrajectoryFileError("an assistant turn has no raw text; the file was not written by a3agent collect")
    return {"role": "assistant", "content": (THINK_PROMPT if message.think_opened else "") + message.raw.lstrip()}


def _system_turn(episode: Episode, template: ChatTemplate) -> dict[str, Any] | None:
    """The system turn the agent's prompts began with, tools included, as one plain system turn."""
    system = next((m.text for m in episode.messages if isinstance(m, SystemMessage)), None)
    if not episode.tools:
        return None if system is None else {"role": "system", "content": system}
    head = [{"role": "system", "content": system}] if system is not None else []
    text = template.render(head, episode.tools, add_generation_prompt=False)
    if not (text.startswith(_SYSTEM_OPEN) and text.endswith(_TURN_END)):
        raise TrajectoryFileError("the chat template does not write tools into one ChatML system turn, so a row "
                                  "cannot carry them; export with a model whose template does (the A-series one)")
    return {"role": "system", "content": text[len(_SYSTEM_OPEN) : -len(_TURN_END)]}


def _turns(message: Message, episode: Episode, folder: Path, images: list[str]) -> list[dict[str, Any]]:
    if isinstance(message, SystemMessage):
        return []  # part of the system turn built from the tools
    if isinstance(message, UserMessage):
        return [{"role": "user", "content": _content(message.parts, episode, folder, images)}]
    if isinstance(message, AssistantMessage):
        return [assistant_turn(message)]
    assert isinstance(message, ToolMessage)
    return [{"role": "tool", "name": result.name, "content": _content(result.parts, episode, folder, images)}
            for result in message.results]


def _content(
    parts: list[TextPart | ImagePart], episode: Episode, folder: Path, images: list[str]
) -> str | list[dict[str, str]]:
    """As the agent renders parts: a lone text part stays a string (`to_chat`)."""
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    content: list[dict[str, str]] = []
    for part in parts:
        if isinstance(part, ImagePart):
            images.append(str((folder / episode.images[part.image_id]).resolve()))
            content.append({"type": "image"})
        else:
            content.append({"type": "text", "text": part.text})
    return content
