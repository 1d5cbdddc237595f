"""a3agent.grammars: which tokens are legal — grammars, JSON Schema to lark, the token-mask engine."""

from a3agent.grammars.compile import CHAT_MARKERS, compile_grammar, compile_json_schema, compile_turn
from a3agent.grammars.engine.grammar import Grammar
from a3agent.grammars.engine.limits import Limits, limits, set_limits
from a3agent.grammars.schema.json_schema import check_schema, schema_to_grammar
from a3agent.grammars.engine.matcher import Matcher
from a3agent.grammars.engine.thinking import Thinking
from a3agent.grammars.dialects.turn import DIALECTS, TurnOptions, turn_grammar
from a3agent.grammars.engine.vocab import Vocabulary, vocabulary_for

__all__ = [
    "CHAT_MARKERS",
    "DIALECTS",
    "Grammar",
    "Limits",
    "Matcher",
    "Thinking",
    "TurnOptions",
    "Vocabulary",
    "check_schema",
    "compile_grammar",
    "compile_json_schema",
    "compile_turn",
    "limits",
    "schema_to_grammar",
    "set_limits",
    "turn_grammar",
    "vocabulary_for",
]
