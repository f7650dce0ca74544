"""The data model shared by every layer. Frozen dataclasses, standard library only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation: who said it and what."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat request, protocol-neutral. ``model`` is the name sent on the wire (aliases resolved)."""

    model: str
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    """Other body fields sent as given (``top_p``, ``stop``, ``seed``, ``tools``, ``response_format``...)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Headers for this request only, over the profile's (``relay serve`` passes on a client's
    ``anthropic-beta``)."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the endpoint reported them; ``None`` means unknown, never zero.

    ``prompt_tokens`` is the total input, cache reads and writes included (OpenAI's meaning; the
    Anthropic parser adds its three input counters). ``cached_tokens`` is the part read from the
    provider's prompt cache, ``cache_write_tokens`` the part written to it (all lifetimes), and
    ``cache_write_1h_tokens`` the part of those writes kept for an hour (Anthropic bills them apart from
    5-minute writes); the rest of ``cache_write_tokens`` are 5-minute writes.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    raw: dict[str, Any] | None = None
    cache_write_1h_tokens: int | None = None

    @property
    def known(self) -> bool:
        return self.prompt_tokens is not None or self.completion_tokens is not None


DeltaKind = Literal["text", "reasoning", "restart"]
"""``restart``: the request is being sent again; every delta before this one is void (it carries no text)."""


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of content from a stream."""

    text: str
    kind: DeltaKind = "text"


@dataclass(slots=True)
class Timing:
    """Per-request timestamps from ``time.perf_counter_ns()`` (None: did not happen).

    ``started_at`` is the wall-clock UTC time (ISO 8601) the request began, for labels only.
    """

    started_at: str = ""
    t_start: int | None = None
    t_send: int | None = None
    t_headers: int | None = None
    t_first_token: int | None = None
    t_last_token: int | None = None
    t_end: int | None = None

    @staticmethod
    def _ms(a: int | None, b: int | None) -> float | None:
        if a is None or b is None:
            return None
        return (b - a) / 1e6

    @property
    def ttfb_ms(self) -> float | None:
        return self._ms(self.t_send, self.t_headers)

    @property
    def ttft_ms(self) -> float | None:
        return self._ms(self.t_send, self.t_first_token)

    @property
    def latency_ms(self) -> float | None:
        return self._ms(self.t_send, self.t_end)


Outcome = Literal["ok", "error", "interrupted", "truncated"]


@dataclass(frozen=True, slots=True)
class Result:
    """What one request produced, complete or not."""

    text: str
    model: str | None  # the model the endpoint says answered
    finish_reason: str | None
    usage: Usage
    request_id: str | None
    timing: Timing
    retries: int = 0
    status: int | None = None  # HTTP status of the last attempt
    complete: bool = True


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model an endpoint lists (``relay models``)."""

    id: str
    owned_by: str | None = None
    context_window: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notes:
    """Where a service says things that are not data: ``note`` for information, ``warn`` for warnings.

    Services receive one instead of a stream, so a caller decides where the words go (chat prints them
    above the answer that is streaming).
    """

    note: Callable[[str], None]
    warn: Callable[[str], None]

    @classmethod
    def silent(cls) -> Notes:
        return cls(note=_discard, warn=_discard)


def _discard(message: str) -> None:
    return None
