"""Fitting each step into its budgets: the model's context, the step's tokens, the think block.

Before a step, the prompt plus the step's token budget must fit the model's positions: the budget is
cut to the room left, and a step with less room than `MIN_STEP_TOKENS` raises `ContextOverflow`
(start a new conversation, or lower `max_result_tokens`) rather than run past the model's context.
The think block may take at most three quarters of a step's budget, so a forced `</think>` always
leaves room for an answer or a call. Tool results are cut to `max_result_tokens` with a visible note.

Not handled here: dropping old turns (the conversation is never rewritten behind the caller's back).
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from a3agent.errors import ContextOverflow
from a3agent.grammars import Thinking
from a3agent.model.tokenizer import encode_untrusted

__all__ = ["MIN_STEP_TOKENS", "cap_text", "step_budget", "step_thinking"]

MIN_STEP_TOKENS = 32
"""A step needs room for at least this many new tokens in the model's context."""

_MAX_CHARS_PER_TOKEN = 64
"""Only the first `max_tokens * 64` characters of a result are tokenised, so a 100 MB result costs
no more than a capped one."""


def step_budget(wanted: int, prompt_tokens: int, context: int | None) -> int:
    """`wanted` new tokens, cut to the room the context leaves after the prompt.

    Example: `step_budget(1024, 32000, 32768)` -> 768
    """
    if context is None:
        return wanted
    room = context - prompt_tokens
    if room < min(wanted, MIN_STEP_TOKENS):
        raise ContextOverflow(
            f"the prompt is {prompt_tokens} tokens and the model holds {context}: no room is left for a "
            f"step of at least {min(wanted, MIN_STEP_TOKENS)} tokens. Start a new Conversation() (or "
            "/reset), lower max_result_tokens, or use a model with a longer context"
        )
    return min(wanted, room)


def step_thinking(thinking: Thinking, budget: int) -> Thinking:
    """The think bounds of a step of `budget` tokens: at most three quarters of it, so an answer fits.

    Example: `step_thinking(Thinking(8, 1024), 1024)` -> `Thinking(8, 768)`
    """
    cap = budget - max(1, budget // 4)
    return Thinking(min(thinking.min_tokens, cap), min(thinking.max_tokens, cap))


def cap_text(tokenizer: PreTrainedTokenizerBase, text: str, max_tokens: int) -> str:
    """`text`, or its first `max_tokens` tokens and a note saying how much was cut."""
    if len(text.encode("utf-8")) <= max_tokens:  # every token covers at least one byte
        return text
    head = text[: max_tokens * _MAX_CHARS_PER_TOKEN]
    ids = encode_untrusted(tokenizer, head)
    if len(ids) <= max_tokens and len(head) == len(text):
        return text
    kept = tokenizer.decode(ids[:max_tokens], clean_up_tokenization_spaces=False)
    return (f"{kept}\n[truncated: the result was {len(text):,} characters; only its first "
            f"{min(max_tokens, len(ids)):,} tokens are shown]")
