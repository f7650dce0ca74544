"""How the guard's values are kept in ``limits.db`` and read back: buckets and pauses as small JSON
objects, checked on the way in (a value another version wrote, or garbage, reads as absent). Pure."""

from __future__ import annotations

import math
from typing import Any

from relaycli.config.profile import Profile
from relaycli.limits.bucket import Bucket

__all__ = ["bucket_settings", "dump_bucket", "load_bucket", "profile_bucket", "read_pause", "seconds_text"]


def bucket_settings(profile: Profile, name: str) -> tuple[float, float] | None:
    """(capacity, refill per second) of the profile's ``rpm`` or ``tpm`` bucket, or None when not set."""
    limits = profile.limits
    per_minute = limits.rpm if name == "rpm" else limits.tpm
    if per_minute is None:
        return None
    capacity = (limits.request_burst or per_minute) if name == "rpm" else per_minute
    return capacity, per_minute / 60.0


def profile_bucket(profile: Profile, name: str, stored: Any, now: float) -> Bucket | None:
    """The profile's ``rpm`` or ``tpm`` bucket as stored (full when never used), retuned to the settings as
    they are now; None when the profile sets no such limit."""
    settings = bucket_settings(profile, name)
    if settings is None:
        return None
    capacity, rate = settings
    bucket = load_bucket(stored)
    if bucket is None:
        return Bucket.full(capacity, rate, now)
    if (bucket.capacity, bucket.rate) != (capacity, rate):
        bucket.refill(now)
        bucket.retune(capacity, rate)
    return bucket


def load_bucket(stored: Any) -> Bucket | None:
    if not isinstance(stored, dict):
        return None
    try:
        values = [float(stored[name]) for name in ("capacity", "rate", "tokens", "updated")]
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in values) or values[0] <= 0 or values[1] <= 0:
        return None
    return Bucket(*values)


def dump_bucket(bucket: Bucket) -> dict[str, float]:
    return {"capacity": bucket.capacity, "rate": bucket.rate, "tokens": bucket.tokens, "updated": bucket.updated}


def read_pause(value: Any) -> tuple[float, str] | None:
    """A stored pause: (until, why), or None."""
    if not isinstance(value, dict):
        return None
    try:
        until = float(value["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if not math.isfinite(until):
        return None
    return until, str(value.get("why") or "a pause the server asked for")


def seconds_text(value: float) -> str:
    """``0.4 s``, ``12 s``, ``90 s``, ``2.5 min``."""
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{math.ceil(value)} s"
    return f"{value / 60:.1f} min"
