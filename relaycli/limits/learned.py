"""The server's request bucket, learned from its rate-limit headers when the profile sets no ``rpm``.

A response that gives the limit ``L`` (the bucket's size), what is left ``R`` (the level rounded down) and
the time ``T`` until the bucket is full again says the refill rate: ``(L - level) / T`` with the level
somewhere in ``[R, R + 1)``, so the rate lies in ``((L - R - 1) / T, (L - R) / T]``. The estimate is the
best lower bound seen so far (never faster than the server), lowered when a response proves it too fast.
Until a response says anything about the rate, ``L`` a minute is assumed (the limits providers publish
are per minute). Pure.
"""

from __future__ import annotations

from relaycli.limits.bucket import Bucket
from relaycli.limits.headers import ServerLimits

__all__ = ["learn"]


def learn(bucket: Bucket | None, said: ServerLimits, now: float) -> Bucket | None:
    """``bucket`` updated with what ``said`` tells about the server's request bucket (a new one when there
    was none); None when it tells nothing to learn from."""
    limit, remaining, reset = said.requests_limit, said.requests_remaining, said.requests_reset_s
    if limit is None or limit <= 0 or remaining is None:
        return bucket
    remaining = min(remaining, limit)
    low, high = _rate_bounds(limit, remaining, reset)
    if bucket is None:
        rate = low if low > 0 else limit / 60.0
        if high is not None:
            rate = min(rate, high)
        return Bucket(capacity=float(limit), rate=rate, tokens=float(remaining), updated=now)
    rate = max(bucket.rate, low)
    if high is not None and rate > high:
        rate = low if low > 0 else high
    if (bucket.capacity, bucket.rate) != (float(limit), rate):
        bucket.refill(now)
        bucket.retune(float(limit), rate)
    bucket.at_most(float(remaining), now)
    return bucket


def _rate_bounds(limit: int, remaining: int, reset: float | None) -> tuple[float, float | None]:
    """(a rate the server surely refills at least at (0: unknown), one it surely does not exceed)."""
    if reset is None or reset <= 0 or remaining >= limit:
        return 0.0, None
    return max(limit - remaining - 1, 0) / reset, (limit - remaining) / reset
