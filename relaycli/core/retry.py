"""Retry policy: which failures are retried and how long to wait first.

Pure: it reads a description of the failure and returns a decision; the client does the sleeping.
Time and randomness are injected (``rand``, ``wall_clock``) so tests are exact.

Retried: connection errors and connect timeouts before a response, HTTP 408/409/429/5xx (529
included), and, in a stream, an error event, a truncation, a malformed chunk, a broken connection, a read
or content-idle timeout, as long as nothing of the answer was shown (the caller judges that; see
``ResponseStream``). Never retried: 400, 401, 403, 404, 413, 422; anything once content was shown; a
non-streaming request whose read timed out (or broke off) after it was sent (the server may have done, and
billed, the work). ``x-should-retry: true|false`` overrides the
status rules. The wait is the server's ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date)
when it is 0..60 s; a longer request means giving up (the client raises RateLimited). Otherwise
exponential backoff ``min(0.5 * 2**n, 8)`` seconds times a random factor in [0.75, 1.0].
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_RETRIES = 2
MAX_HONOURED_WAIT_S = 60.0
RETRY_STATUSES = frozenset({408, 409, 429})
NEVER_RETRY_STATUSES = frozenset({400, 401, 403, 404, 413, 422})
_CLIENT_ERROR_PREFIXES = ("badrequest", "notfound", "authentication", "permissiondenied", "unprocessable", "4")
# error types inside a 200 stream that say the request itself is wrong: retrying cannot help
_CLIENT_ERROR_TYPES = frozenset(
    {
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "not_found_error",
        "request_too_large",
        "billing_error",
        "400",
        "401",
        "402",
        "403",
        "404",
        "413",
        "422",
    }
)

FailureKind = Literal[
    "connect",  # no connection, or it broke before the response began
    "connect_timeout",
    "read_timeout",  # the server went silent (httpx read timeout)
    "idle_timeout",  # keep-alives but no content for `read` seconds
    "status",  # an HTTP error status
    "stream_error",  # an error event inside a 200 stream
    "truncated",  # the stream ended without its end marker, or the connection closed in its middle
    "malformed",  # a stream chunk that is not JSON
    "fatal",  # malformed responses, DNS and TLS failures, anything that a retry cannot fix
]


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one attempt, as the retry policy weighs it."""

    kind: FailureKind
    status: int | None = None
    headers: Mapping[str, str] | None = None
    streaming: bool = True
    content_seen: bool = False
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The retry policy's verdict on a failed attempt: whether to retry, after how long, and why."""

    retry: bool
    wait_s: float = 0.0
    reason: str = ""
    asked_s: float | None = None  # the server asked to wait this long, more than relay honours


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (httpx.Headers is already case-insensitive)."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else None


def server_wait(headers: Mapping[str, str] | None, now: float) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, else ``retry-after`` (seconds or HTTP date)."""
    ms = header(headers, "retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = header(headers, "retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # an HTTP date: rare, and the module is slow to load

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - now, 0.0)


def should_retry_header(headers: Mapping[str, str] | None) -> bool | None:
    value = (header(headers, "x-should-retry") or "").lower()
    return True if value == "true" else False if value == "false" else None


def status_retryable(status: int) -> bool:
    if status in NEVER_RETRY_STATUSES:
        return False
    return status in RETRY_STATUSES or 500 <= status <= 599


def backoff(retry_number: int, rand: Callable[[], float]) -> float:
    """The wait before retry ``retry_number`` (0 for the first): min(0.5 * 2**n, 8) * [0.75, 1.0]."""
    return min(0.5 * 2.0**retry_number, 8.0) * (0.75 + 0.25 * rand())


class RetryPolicy:
    def __init__(
        self,
        max_retries: int = DEFAULT_RETRIES,
        *,
        rand: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
        max_wait_s: float = MAX_HONOURED_WAIT_S,
    ) -> None:
        self.max_retries = max(0, max_retries)
        self.rand = rand
        self.wall_clock = wall_clock
        self.max_wait_s = max_wait_s

    def retryable(self, failure: Failure) -> bool:
        """Whether this kind of failure may be retried at all (ignoring the retry budget)."""
        if failure.content_seen:
            return False
        kind = failure.kind
        if kind == "status":
            override = should_retry_header(failure.headers)
            if override is not None:
                return override
            return failure.status is not None and status_retryable(failure.status)
        if kind == "stream_error":
            kind_name = (failure.error_type or "").lower()
            # vLLM says BadRequestError / NotFoundError, others a 4xx code: the request itself is wrong
            return kind_name not in _CLIENT_ERROR_TYPES and not kind_name.startswith(_CLIENT_ERROR_PREFIXES)
        if kind in ("read_timeout", "idle_timeout", "truncated", "malformed"):
            return failure.streaming
        return kind in ("connect", "connect_timeout")

    def decide(self, failure: Failure, retries_done: int) -> Decision:
        if not self.retryable(failure):
            return Decision(False, reason="not retryable")
        asked = server_wait(failure.headers, self.wall_clock()) if failure.kind == "status" else None
        if asked is not None and asked > self.max_wait_s:
            return Decision(False, reason="the server asked for a longer wait", asked_s=asked)
        if retries_done >= self.max_retries:
            return Decision(False, reason="retries exhausted")
        wait = asked if asked is not None else backoff(retries_done, self.rand)
        return Decision(True, wait_s=wait, reason=describe(failure))


def describe(failure: Failure) -> str:
    """A short reason for a retry notice."""
    if failure.kind == "status":
        return f"HTTP {failure.status}"
    if failure.kind == "stream_error":
        return f"error event in the stream ({failure.error_type or 'unknown type'})"
    return {
        "connect": "connection failed",
        "connect_timeout": "connect timeout",
        "read_timeout": "read timeout",
        "idle_timeout": "no content (content-idle timeout)",
        "truncated": "the stream ended early",
        "malformed": "a malformed chunk in the stream",
    }.get(failure.kind, failure.kind)
