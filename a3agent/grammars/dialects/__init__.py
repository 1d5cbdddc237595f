"""Turn grammars: a think block, then text and/or tool calls in the hermes-json or qwen3-xml dialect."""
