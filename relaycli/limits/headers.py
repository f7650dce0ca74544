"""What a response says about the server's limits: ``retry-after`` and the rate-limit headers.

OpenAI (and most compatible relays): ``x-ratelimit-remaining-requests`` / ``-tokens`` with
``x-ratelimit-reset-requests`` / ``-tokens`` as durations (``1s``, ``6m0s``, ``20ms``). Anthropic:
``anthropic-ratelimit-requests-remaining`` / ``-tokens-remaining`` (also ``input-tokens``) with
``...-reset`` as an RFC 3339 time. ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) on a 429
or 503. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from relaycli.core.retry import header, server_wait

__all__ = ["ServerLimits", "read_limits"]


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Seconds are from now; None: the response did not say."""

    retry_after_s: float | None = None
    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset_s: float | None = None  # until the limit is whole again (both providers' meaning)
    tokens_remaining: int | None = None
    tokens_reset_s: float | None = None

    @property
    def pause_s(self) -> float | None:
        """How long nobody should send to this endpoint: the retry-after, or, when no request is left, the
        time one more takes to come back (the reset spread over the limit: the headers' reset is when the
        whole limit is back, and the buckets refill continuously)."""
        waits = [self.retry_after_s or 0.0]
        if self.requests_remaining == 0 and self.requests_reset_s is not None and self.requests_limit:
            waits.append(self.requests_reset_s / self.requests_limit)
        longest = max(waits)
        return longest if longest > 0 else None


def read_limits(status: int, headers: Mapping[str, str], now: float) -> ServerLimits:
    """The limits ``headers`` describe (``now``: Unix time, for HTTP and RFC 3339 dates)."""
    retry_after = server_wait(headers, now) if status == 429 or status >= 500 else None
    return ServerLimits(
        retry_after_s=retry_after,
        requests_limit=_count(
            header(headers, "x-ratelimit-limit-requests") or header(headers, "anthropic-ratelimit-requests-limit")
        ),
        requests_remaining=_count(
            header(headers, "x-ratelimit-remaining-requests")
            or header(headers, "anthropic-ratelimit-requests-remaining")
        ),
        requests_reset_s=_reset(
            header(headers, "x-ratelimit-reset-requests") or header(headers, "anthropic-ratelimit-requests-reset"),
            now,
        ),
        tokens_remaining=_count(
            header(headers, "x-ratelimit-remaining-tokens")
            or header(headers, "anthropic-ratelimit-tokens-remaining")
            or header(headers, "anthropic-ratelimit-input-tokens-remaining")
        ),
        tokens_reset_s=_reset(
            header(headers, "x-ratelimit-reset-tokens")
            or header(headers, "anthropic-ratelimit-tokens-reset")
            or header(headers, "anthropic-ratelimit-input-tokens-reset"),
            now,
        ),
    )


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return max(int(float(value)), 0)
    except ValueError:
        return None


_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def _reset(value: str | None, now: float) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1.5"`` (seconds), or an RFC 3339 time."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parts = _PART.findall(value)
    if parts and "".join(n + u for n, u in parts) == value.replace(" ", ""):
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
        return sum(float(n) * scale[u] for n, u in parts)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return max(moment.timestamp() - now, 0.0)
