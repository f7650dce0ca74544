"""What a profile's limits and circuit look like now, for people (``relay ping``, ``relay config show``)
and for JSON: what is left in each bucket, the requests in flight and waiting, a pause, the circuit's
state with when it opened and when the next probe may go. ``describe`` reads one snapshot of
``limits.db`` and computes; ``reset`` closes a circuit and clears a pause (``relay ping --reset``).
Opening the store for a look never creates it: no file means nothing was ever limited.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relaycli.config.profile import Breaker, Profile
from relaycli.limits.breaker import Circuit
from relaycli.limits.bucket import Bucket
from relaycli.limits.state import load_bucket, profile_bucket, read_pause, seconds_text
from relaycli.limits.store import LimitStore, LimitsUnavailable

__all__ = [
    "BucketStatus",
    "CircuitStatus",
    "LimitsStatus",
    "breaker_rule",
    "circuit_text",
    "describe",
    "limits_text",
    "look",
    "reset",
    "to_json",
]


@dataclass(frozen=True, slots=True)
class BucketStatus:
    per_minute: float  # the refill, a minute's worth
    capacity: float
    left: float  # what could be taken now (negative: a debt to wait out)
    full_in_s: float  # until the bucket is full again


@dataclass(frozen=True, slots=True)
class CircuitStatus:
    state: str  # closed, open, half_open
    failures: int  # consecutive counted failures (the count it opened after, when open)
    since: float | None  # Unix time it opened
    next_probe_s: float | None  # open: seconds until a probe may go (0: the next request probes)
    last_error: str | None


@dataclass(frozen=True, slots=True)
class LimitsStatus:
    profile: Profile
    rpm: BucketStatus | None
    tpm: BucketStatus | None
    server: BucketStatus | None  # the request bucket learned from the server's headers (no rpm set)
    in_flight: int
    waiting: int
    pause_s: float | None  # seconds of pause left
    pause_why: str | None
    circuit: CircuitStatus | None  # None: breaker = false
    error: str | None = None  # the store could not be read


def describe(store: LimitStore | None, profile: Profile, now: float) -> LimitsStatus:
    """``profile``'s limits and circuit at ``now`` (Unix time); ``store`` None: nothing recorded yet."""
    state: dict[str, Any] = {}
    in_flight = waiting = 0
    if store is not None:
        with store.transaction() as tx:
            state = tx.all(profile.name)
            in_flight = tx.in_flight(profile.name, now)
            waiting = sum(tx.waiting(profile.name, now).values())
    pause = read_pause(state.get("pause"))
    paused = pause is not None and pause[0] > now
    return LimitsStatus(
        profile=profile,
        rpm=_bucket_status(profile_bucket(profile, "rpm", state.get("rpm"), now), now),
        tpm=_bucket_status(profile_bucket(profile, "tpm", state.get("tpm"), now), now),
        server=_bucket_status(load_bucket(state.get("learned")), now) if profile.limits.rpm is None else None,
        in_flight=in_flight,
        waiting=waiting,
        pause_s=pause[0] - now if paused and pause is not None else None,
        pause_why=pause[1] if paused and pause is not None else None,
        circuit=_circuit_status(Circuit.from_dict(state.get("breaker")), now) if profile.breaker.enabled else None,
    )


def look(path: Path, profiles: list[Profile], now: float | None = None) -> list[LimitsStatus]:
    """Every profile's status from the store at ``path`` (not created when absent); a store that cannot be
    read gives each profile its configured limits and the reason."""
    when = time.time() if now is None else now
    if not path.exists():
        return [describe(None, p, when) for p in profiles]
    try:
        store, _ = LimitStore.open(path)
    except LimitsUnavailable as exc:
        return [_unread(describe(None, p, when), exc.message) for p in profiles]
    try:
        return [describe(store, p, when) for p in profiles]
    except LimitsUnavailable as exc:
        return [_unread(describe(None, p, when), exc.message) for p in profiles]
    finally:
        store.close()


def reset(path: Path, profile: Profile) -> bool:
    """Close ``profile``'s circuit and clear its pause (its buckets and in-flight requests stay as they
    are). False when there was nothing to reset."""
    if not path.exists():
        return False
    store, _ = LimitStore.open(path)
    try:
        with store.transaction() as tx:
            had = tx.get(profile.name, "breaker") is not None or tx.get(profile.name, "pause") is not None
            tx.delete(profile.name, "breaker")
            tx.delete(profile.name, "pause")
        return had
    finally:
        store.close()


def _unread(status: LimitsStatus, error: str) -> LimitsStatus:
    from dataclasses import replace

    return replace(status, error=error)


def _bucket_status(bucket: Bucket | None, now: float) -> BucketStatus | None:
    if bucket is None:
        return None
    left = bucket.level(now)
    return BucketStatus(
        per_minute=bucket.rate * 60.0,
        capacity=bucket.capacity,
        left=left,
        full_in_s=max(bucket.capacity - left, 0.0) / bucket.rate,
    )


def _circuit_status(circuit: Circuit, now: float) -> CircuitStatus:
    next_probe = None
    if circuit.state == "open":
        next_probe = max((circuit.until or now) - now, 0.0)
    failures = (
        circuit.failures_at_open if circuit.state != "closed" and circuit.failures_at_open else circuit.consecutive
    )
    return CircuitStatus(
        state=circuit.state,
        failures=failures,
        since=circuit.opened_at if circuit.state != "closed" else None,
        next_probe_s=next_probe,
        last_error=circuit.last_error or None,
    )


# -- for people and for JSON -----------------------------------------------------------------------
def to_json(status: LimitsStatus) -> dict[str, Any]:
    """``{"limits": {...}, "breaker": {...}}`` for ``relay ping --json``."""
    limits, settings = status.profile.limits, status.profile.breaker
    circuit = status.circuit
    return {
        "limits": {
            "rpm": limits.rpm,
            "tpm": limits.tpm,
            "max_in_flight": limits.max_in_flight,
            "burst": limits.request_burst,
            "rpm_left": _round(status.rpm.left) if status.rpm else None,
            "tpm_left": _round(status.tpm.left) if status.tpm else None,
            "server_rpm": _round(status.server.per_minute) if status.server else None,
            "server_left": _round(status.server.left) if status.server else None,
            "in_flight": status.in_flight,
            "waiting": status.waiting,
            "paused_s": _round(status.pause_s),
            "pause_reason": status.pause_why,
            "error": status.error,
        },
        "breaker": {
            "enabled": settings.enabled,
            "failures": settings.failures if settings.enabled else None,
            "cooldown": settings.cooldown if settings.enabled else None,
            "ratio": settings.ratio if settings.enabled else None,
            "min_requests": settings.min_requests if settings.enabled and settings.ratio is not None else None,
            "window": settings.window if settings.enabled and settings.ratio is not None else None,
            "state": circuit.state if circuit else None,
            "consecutive_failures": circuit.failures if circuit else None,
            "since": _iso(circuit.since) if circuit else None,
            "next_probe_s": _round(circuit.next_probe_s) if circuit else None,
            "last_error": circuit.last_error if circuit else None,
        },
    }


def limits_text(status: LimitsStatus) -> str:
    """``rpm 60/min (12.5 left), tpm 100000/min (99,000 left), in flight 1 of 4, paused 3.0 s (...)``."""
    limits = status.profile.limits
    parts = []
    if status.rpm is not None and limits.rpm is not None:
        burst = f", burst {limits.request_burst:g}" if limits.request_burst != limits.rpm else ""
        parts.append(f"rpm {limits.rpm:g}/min{burst} ({_amount(status.rpm.left)} left)")
    if status.tpm is not None and limits.tpm is not None:
        parts.append(f"tpm {limits.tpm:g}/min ({_amount(status.tpm.left)} left)")
    if limits.max_in_flight is not None:
        parts.append(f"in flight {status.in_flight} of {limits.max_in_flight}")
    elif status.in_flight:
        parts.append(f"in flight {status.in_flight}")
    if status.server is not None:
        parts.append(
            f"server's request limit about {status.server.per_minute:.0f}/min ({_amount(status.server.left)} left)"
        )
    if status.waiting:
        parts.append(f"{status.waiting} waiting")
    if status.pause_s is not None:
        parts.append(f"paused {seconds_text(status.pause_s)} ({status.pause_why})")
    text = ", ".join(parts) if parts else "none"
    return f"{text} (limits.db unreadable: {status.error})" if status.error else text


def circuit_text(status: LimitsStatus, *, rule: bool = True) -> str:
    """``closed (opens after 5 failures in a row, 30 s cooldown)``, ``closed, 2 failures in a row``,
    ``open since 14:02 after 5 failures; next probe in 12 s``, ``off (breaker = false)``; ``rule``: say
    when a closed circuit opens."""
    circuit, settings = status.circuit, status.profile.breaker
    if circuit is None:
        return "off (breaker = false)"
    if circuit.state == "closed":
        streak = f", {_failures(circuit.failures)} in a row" if circuit.failures else ""
        return f"closed{streak}" + (f" ({breaker_rule(settings)})" if rule else "")
    since = time.strftime("%H:%M", time.localtime(circuit.since)) if circuit.since else "?"
    head = f"since {since} after {_failures(circuit.failures)}"
    if circuit.state == "half_open":
        return f"half-open {head}; a probe request is under way"
    wait = circuit.next_probe_s or 0.0
    nxt = f"next probe in {seconds_text(wait)}" if wait > 0 else "the next request is its probe"
    return f"open {head}; {nxt}"


def breaker_rule(settings: Breaker) -> str:
    """``opens after 5 failures in a row, 30 s cooldown`` (and the share, when one is set)."""
    opens = []
    if settings.failures:
        opens.append(f"after {_failures(settings.failures)} in a row")
    if settings.ratio is not None:
        opens.append(
            f"when {settings.ratio * 100:g} % of {settings.min_requests}+ requests in {settings.window:g} s failed"
        )
    return f"opens {' or '.join(opens) or 'never'}, {settings.cooldown:g} s cooldown"


def _failures(count: int) -> str:
    return f"{count} failure{'s' if count != 1 else ''}"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
