"""A failed request as an HTTP status for ``relay serve``'s client.

The upstream's own client errors (a 400 for an unknown model, a 404, a 413) are the client's to see, with
the status the upstream gave; failures between relay and the upstream are a gateway's: 502 (the upstream
failed or refused relay's key), 503 (its circuit is open), 504 (it timed out), 429 (a rate limit or a
budget). The message is relay's, which names the profile and never holds a key.
"""

from __future__ import annotations

import asyncio

from relaycli.core.scrub import scrub_known
from relaycli.errors import (
    APIError,
    AuthError,
    BudgetExceeded,
    CircuitOpen,
    ConfigError,
    NetworkError,
    OutputClosed,
    RateLimited,
    RelayError,
    RelayTimeout,
    UsageError,
)

__all__ = ["describe"]


def describe(exc: BaseException) -> tuple[int, str]:
    """The status and message to answer with when ``exc`` ended a request."""
    if isinstance(exc, asyncio.CancelledError | OutputClosed):
        return 503, "relay serve is stopping"
    if not isinstance(exc, RelayError):
        return 500, f"relay serve failed: {type(exc).__name__}"
    message = scrub_known(exc.message if not exc.hint else f"{exc.message} ({exc.hint})")
    if isinstance(exc, UsageError):
        return 400, message
    if isinstance(exc, BudgetExceeded | RateLimited):
        return 429, message
    if isinstance(exc, CircuitOpen):
        return 503, message
    if isinstance(exc, RelayTimeout):
        return 504, message
    if isinstance(exc, AuthError | NetworkError):
        return 502, message
    if isinstance(exc, ConfigError):
        return 500, f"relay serve is misconfigured: {message}"
    if isinstance(exc, APIError) and exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
        return exc.status, message
    return 502, message
