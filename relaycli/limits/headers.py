"""What a response says about the server's limits: ``retry-after`` and the rate-limit headers.

OpenAI (and most compatible relays): ``x-ratelimit-limit-requests`` / ``-tokens``,
``x-ratelimit-remaining-requests`` / ``-tokens`` and ``x-ratelimit-reset-requests`` / ``-tokens`` as
durations (``1s``, ``6m0s``, ``20ms``) until the limit is back to its full size. Anthropic:
``anthropic-ratelimit-requests-limit`` / ``-remaining`` / ``-reset`` (also ``tokens`` and
``input-tokens``), the reset as an RFC 3339 time. ``retry-after-ms`` / ``retry-after`` (seconds or an
HTTP date) on a 429 or a 5xx. Pure.
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
    requests_reset_s: float | None = None
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_reset_s: float | None = None

    @property
    def said_anything(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__slots__)

    @property
    def pause_s(self) -> float | None:
        """How long nobody should send to this endpoint: the retry-after, or, when a limit has nothing left
        and its size is not given, the time until it is whole again (the reset, in both providers' meaning).
        With the size given, the buckets follow the server instead: a profile's own, or the request bucket
        learned from these headers (``learned.py``), which says when the next request may go."""
        waits = [self.retry_after_s or 0.0]
        if self.requests_remaining == 0 and self.requests_reset_s is not None and self.requests_limit is None:
            waits.append(self.requests_reset_s)
        if self.tokens_remaining == 0 and self.tokens_reset_s is not None and self.tokens_limit is None:
            waits.append(self.tokens_reset_s)
        longest = max(waits)
        return longest if longest > 0 else None


def read_limits(status: int, headers: Mapping[str, str], now: float) -> ServerLimits:
    """The limits ``headers`` describe (``now``: Unix time, for HTTP and RFC 3339 dates)."""
    headers = _relevant(headers)
    if not headers:
        return _NOTHING  # most responses: read on every request, so looked through once
    retry_after = server_wait(headers, now) if status == 429 or status >= 500 else None
    return ServerLimits(
        retry_after_s=retry_after,
        requests_limit=_count(_first(headers, "x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit")),
        requests_remaining=_count(
            _first(headers, "x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining")
        ),
        requests_reset_s=_reset(
            _first(headers, "x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset"), now
        ),
        tokens_limit=_count(
            _first(
                headers,
                "x-ratelimit-limit-tokens",
                "anthropic-ratelimit-tokens-limit",
                "anthropic-ratelimit-input-tokens-limit",
            )
        ),
        tokens_remaining=_count(
            _first(
                headers,
                "x-ratelimit-remaining-tokens",
                "anthropic-ratelimit-tokens-remaining",
                "anthropic-ratelimit-input-tokens-remaining",
            )
        ),
        tokens_reset_s=_reset(
            _first(
                headers,
                "x-ratelimit-reset-tokens",
                "anthropic-ratelimit-tokens-reset",
                "anthropic-ratelimit-input-tokens-reset",
            ),
            now,
        ),
    )


_NOTHING = ServerLimits()


def _relevant(headers: Mapping[str, str]) -> dict[str, str]:
    """The rate-limit and retry-after headers, names in lower case, in one pass over all of them."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if "ratelimit" in lowered or lowered.startswith("retry-after"):
            found[lowered] = value
    return found


def _first(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = header(headers, name)
        if value:
            return value
    return None


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return max(int(number), 0)


_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_SCALE = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _reset(value: str | None, now: float) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"20ms"`` (Go durations), ``"1.5"`` (seconds), or an RFC 3339 time."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds and seconds != float("inf") else None
    compact = value.replace(" ", "")
    parts = _PART.findall(compact)
    if parts and "".join(n + u for n, u in parts) == compact:
        return sum(float(n) * _SCALE[u] for n, u in parts)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return max(moment.timestamp() - now, 0.0)
