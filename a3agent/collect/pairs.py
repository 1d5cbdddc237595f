"""Preference pairs: for one task, the constrained episode that passed against the unconstrained one
that drifted, in the conversational form DPO and ORPO trainers take (TRL's `prompt`/`chosen`/`rejected`).

A pair is cut at the first assistant turn: `prompt` is the system and user turns both episodes share,
`chosen` and `rejected` are each episode's first turn, `images` the prompt's image files. That is where
the card's drift shows (an empty think block, a request drafted instead of a call); later turns answer
tool results that differ between the two episodes (crops the other never made), so they pair nothing.
Episodes pair by model, task and sample. An unconstrained episode drifted when its checks did not pass
or any of its steps closed an opened think block empty, drafted a request or made an invalid call.

Memory: the first turn of each candidate episode, so bounded by tasks x samples x models.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from a3agent.agent.messages import AssistantMessage
from a3agent.collect.chat import episode_chat
from a3agent.collect.export import step_is_clean
from a3agent.collect.store import TrajectoryStore
from a3agent.collect.trajectory import Episode
from a3agent.model.template import ChatTemplate

__all__ = ["drifted", "export_pairs", "preference_pairs"]


def drifted(episode: Episode) -> bool:
    """The episode failed its checks or showed one of the card's defects in some step."""
    empty = any(m.think_opened and not m.thinking.strip() for m in episode.messages if isinstance(m, AssistantMessage))
    return episode.checks.passed is not True or empty or not all(
        step_is_clean(episode, index) for index in range(len(episode.steps)))


def preference_pairs(folder: str | os.PathLike[str], template: ChatTemplate) -> Iterator[dict[str, Any]]:
    """The pairs of `folder`, in the order their chosen episodes come; `template` renders the tool definitions."""
    store = TrajectoryStore(folder)
    chosen: dict[tuple[str, str, int], dict[str, Any]] = {}
    rejected: dict[tuple[str, str, int], dict[str, Any]] = {}
    for episode in store.episodes():
        key = (episode.model, episode.task_id, episode.sample)
        if not episode.steps:
            continue
        if episode.mode == "constrained" and episode.checks.passed is True and not drifted(episode):
            chosen.setdefault(key, _first_turn(episode, store.folder, template))
        elif episode.mode == "unconstrained" and drifted(episode):
            rejected.setdefault(key, _first_turn(episode, store.folder, template))
    for key, good in chosen.items():
        bad = rejected.get(key)
        if bad is not None and bad["prompt"] == good["prompt"]:
            yield {"prompt": good["prompt"], "chosen": good["turn"], "rejected": bad["turn"], "images": good["images"]}


def export_pairs(folder: str | os.PathLike[str], out: str | os.PathLike[str], template: ChatTemplate) -> int:
    """Write the pairs of `folder` to `out` (JSONL); returns how many."""
    count = 0
    with Path(out).open("w", encoding="utf-8") as file:
        for pair in preference_pairs(folder, template):
            file.write(json.dumps(pair, ensure_ascii=False) + "\n")
            count += 1
    return count


def _first_turn(episode: Episode, folder: Path, template: ChatTemplate) -> dict[str, Any]:
    chat = episode_chat(episode, folder, template)
    at, images = chat.assistant_at[0]
    return {"prompt": chat.turns[:at], "turn": [chat.turns[at]], "images": chat.images[:images]}
