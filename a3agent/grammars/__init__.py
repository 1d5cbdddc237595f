"""a3agent.grammars: which tokens are legal — grammars, JSON Schema to lark, the token-mask engine."""

from a3agent.grammars.compile import compile_grammar
from a3agent.grammars.grammar import Grammar
from a3agent.grammars.matcher import Matcher
from a3agent.grammars.thinking import Thinking
from a3agent.grammars.vocab import Vocabulary, vocabulary_for

__all__ = ["Grammar", "Matcher", "Thinking", "Vocabulary", "compile_grammar", "vocabulary_for"]
