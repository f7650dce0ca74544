"""relay serve: relay as a local OpenAI- and Anthropic-compatible gateway."""
