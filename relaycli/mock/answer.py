"""What the local relay serves: its model list and its deterministic answers."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class ServedModel:
    id: str
    owned_by: str
    display_name: str
    created: int
    """Unix seconds (OpenAI's ``created``)."""
    created_at: str
    """RFC 3339 (Anthropic's ``created_at``)."""


MODELS: tuple[ServedModel, ...] = (
    ServedModel("gpt-4.1", "openai", "GPT-4.1", 1744316542, "2025-04-10T20:22:22Z"),
    ServedModel("gpt-4.1-mini", "openai", "GPT-4.1 mini", 1744318173, "2025-04-10T20:49:33Z"),
    ServedModel("gpt-4o-mini", "openai", "GPT-4o mini", 1721172741, "2024-07-16T23:32:21Z"),
    ServedModel("o4-mini", "openai", "o4-mini", 1744225351, "2025-04-09T19:02:31Z"),
    ServedModel("claude-sonnet-4-5", "anthropic", "Claude Sonnet 4.5", 1759104000, "2025-09-29T00:00:00Z"),
    ServedModel("claude-haiku-4-5", "anthropic", "Claude Haiku 4.5", 1760486400, "2025-10-15T00:00:00Z"),
    ServedModel("deepseek-chat", "deepseek", "DeepSeek Chat", 1735689600, "2025-01-01T00:00:00Z"),
    ServedModel("mock-unpriced", "relay-mock", "Mock (unpriced)", 1735689600, "2025-01-01T00:00:00Z"),
)
MODEL_IDS: frozenset[str] = frozenset(model.id for model in MODELS)

_WORDS = """
    alpha amber anchor apple arrow autumn balance beacon birch bridge canyon cedar cipher circle cloud
    comet copper coral cotton crystal delta desert ember falcon feather fern field flint forest garden
    glacier granite harbor hazel horizon island ivory jasper lantern lattice maple marble meadow mirror
    nectar nickel north oak ocean orbit pebble pepper pine pixel prairie quartz quiet rain raven ribbon
    river saffron sage shadow signal silver spruce stone summit thistle thunder timber topaz tundra
    valley velvet violet willow winter yarrow zephyr
"""
_VOCABULARY: tuple[str, ...] = tuple(_WORDS.split())

HEADER_WORDS = 5
"""``Mock answer to N messages:`` — the fixed start of every answer."""


def answer_tokens(n_messages: int, prompt: str, seed: int, count: int, *, complete: bool) -> tuple[str, ...]:
    """The first ``count`` tokens of the answer: one word each, every word after the first with its
    leading space. The words depend only on the prompt and the seed; ``complete`` ends the last one
    with a full stop."""
    return _tokens(n_messages, prompt, seed, count, complete)


@lru_cache(maxsize=512)
def _tokens(n_messages: int, prompt: str, seed: int, count: int, complete: bool) -> tuple[str, ...]:
    if count <= 0:
        return ()
    words = ["Mock", "answer", "to", str(n_messages), "messages:"][:count]
    if count > HEADER_WORDS:
        digest = hashlib.blake2b(f"{seed}\x00{prompt}".encode("utf-8", "surrogatepass"), digest_size=8)
        rng = random.Random(int.from_bytes(digest.digest(), "big"))
        words.extend(rng.choices(_VOCABULARY, k=count - HEADER_WORDS))
        if complete:
            words[-1] += "."
    return (words[0], *(" " + word for word in words[1:]))


def count_words(text: str) -> int:
    """Whitespace-separated words: the mock's token count."""
    return len(text.split())
