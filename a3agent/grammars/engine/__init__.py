"""The token-mask engine: byte automata, the non-deterministic LR parser, vocabulary trie and token
tables, compiled grammars and matchers (masks, forced text, completion). Knows nothing of JSON."""
