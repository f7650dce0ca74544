"""What the cache keeps of one answer (``Entry``), what it tells about itself (``Stats``) and the hit the
pipeline replays (``Hit``). Standard library only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from relaycli.datatypes import Delta, Usage

__all__ = ["Entry", "Hit", "Stats", "TimedDelta", "usage_from_json", "usage_to_json"]


@dataclass(frozen=True, slots=True)
class TimedDelta:
    """One piece of the answer and when it arrived, in milliseconds after the request was sent."""

    offset_ms: float
    kind: str  # "text" or "reasoning"
    text: str

    def delta(self) -> Delta:
        return Delta(self.text, "reasoning" if self.kind == "reasoning" else "text")


@dataclass(frozen=True, slots=True)
class Entry:
    """A complete, successful answer to one request, as stored. Holds no key and no header."""

    key: str
    profile: str
    model: str  # the model as sent on the wire
    model_answered: str | None
    created: float  # Unix time it was stored
    last_used: float
    hits: int
    size: int  # bytes of stored text (the eviction measure)
    finish_reason: str | None
    request_id: str | None
    usage: Usage
    deltas: tuple[TimedDelta, ...]
    ttft_ms: float | None  # of the original request
    latency_ms: float | None
    cost_usd: Decimal | None  # what the original request cost (None: unpriced or unknown)
    cost_billed: Decimal | None
    currency: str
    prompt: str | None = None  # the messages as JSON, for `relay cache list --show-prompts`

    @property
    def text(self) -> str:
        return "".join(d.text for d in self.deltas if d.kind == "text")


@dataclass(frozen=True, slots=True)
class Hit:
    """A lookup that found an answer: the entry and how old it is."""

    entry: Entry
    age_s: float


@dataclass(frozen=True, slots=True)
class Stats:
    """What ``relay cache stats`` reports."""

    entries: int
    stored_bytes: int
    file_bytes: int
    oldest: float | None
    newest: float | None
    hits: int  # lookups answered from the cache, since the file was made
    misses: int  # lookups that asked the endpoint and stored the answer
    saved_usd: Decimal  # the list price of the answers the hits did not ask for again
    saved_unknown: int  # hits whose saving is unknown (an unpriced model)
    saved_billed: dict[str, Decimal] = field(default_factory=dict)  # by billing currency

    @property
    def hit_rate(self) -> float | None:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None


_USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "cache_write_1h_tokens")


def usage_to_json(usage: Usage) -> str:
    data: dict[str, Any] = {name: getattr(usage, name) for name in _USAGE_FIELDS}
    data["raw"] = usage.raw
    return json.dumps(data, ensure_ascii=False, default=str)


def usage_from_json(text: str) -> Usage:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("usage is not an object")
    counts = {name: data.get(name) if isinstance(data.get(name), int) else None for name in _USAGE_FIELDS}
    raw = data.get("raw")
    return Usage(raw=raw if isinstance(raw, dict) else None, **counts)
