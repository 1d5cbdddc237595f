"""a3agent.model: weights, tokens, images — loading, the chat template, the decode loop.

Heavy imports (torch, transformers) happen here, never in `a3agent.grammars` or `a3agent.tools`.
"""

from a3agent.model.decode import DecodeCounters, DecodeLoop, DecodeResult
from a3agent.model.loading import LoadedModel, load_model
from a3agent.model.prompt import ImageSpan, PromptInputs
from a3agent.model.sampling import SamplingParams
from a3agent.model.scripted import ScriptedModel, load_scripted
from a3agent.model.template import encode_prompt
from a3agent.model.tiny import build_tiny_model

__all__ = [
    "DecodeCounters",
    "DecodeLoop",
    "DecodeResult",
    "ImageSpan",
    "LoadedModel",
    "PromptInputs",
    "SamplingParams",
    "ScriptedModel",
    "build_tiny_model",
    "encode_prompt",
    "load_model",
    "load_scripted",
]
