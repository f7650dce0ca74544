"""What ``relay ping`` and ``relay config show`` say about a profile's limits and circuit: what is left,
in flight, a pause, the circuit with when it opened and the next probe; ``reset``; a missing store."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from relaycli.config.profile import Breaker, Limits
from relaycli.errors import EndpointError, NetworkError
from relaycli.limits.guard import Permit
from relaycli.limits.status import breaker_rule, circuit_text, describe, limits_text, look, reset, to_json
from relaycli.limits.store import LimitStore

from .support import Clock, Said, guard, profile, request


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "limits.db"


def test_a_store_that_does_not_exist_is_not_created_and_everything_is_full(db: Path) -> None:
    p = profile(limits=Limits(rpm=60, tpm=100_000, max_in_flight=4))
    (status,) = look(db, [p])
    assert not db.exists() and not db.parent.exists()
    assert status.rpm is not None and status.rpm.left == 60 and status.rpm.full_in_s == 0
    assert status.tpm is not None and status.tpm.left == 100_000
    assert (status.in_flight, status.waiting, status.pause_s, status.server) == (0, 0, None, None)
    assert limits_text(status) == "rpm 60/min (60.0 left), tpm 100000/min (100,000 left), in flight 0 of 4"
    assert circuit_text(status) == "closed (opens after 5 failures in a row, 30 s cooldown)"
    assert reset(db, p) is False and not db.exists()


def test_what_is_left_in_flight_and_paused_after_some_requests(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock, pid=os.getpid())  # a live process: a look sweeps the leases of dead ones
    p = profile(limits=Limits(rpm=60, burst=10, max_in_flight=4))
    held = [g.enter(p, request(), priority="normal", notes=Said().notes_sink) for _ in range(3)]
    assert all(isinstance(permit, Permit) for permit in held)
    g.observe(p, 429, {"retry-after": "20"})
    store, _ = LimitStore.open(db)
    status = describe(store, p, clock.now + 2)
    store.close()
    assert status.rpm is not None and status.rpm.left == pytest.approx(9)  # 10 - 3 + 2 s of refill
    assert status.rpm.full_in_s == pytest.approx(1)
    assert status.in_flight == 3 and status.pause_s == pytest.approx(18)
    assert limits_text(status) == (
        "rpm 60/min, burst 10 (9.0 left), in flight 3 of 4, paused 18 s (the pause a 429 asked for)"
    )
    doc = to_json(status)
    assert doc["limits"] == {
        "rpm": 60,
        "tpm": None,
        "max_in_flight": 4,
        "burst": 10,
        "rpm_left": 9.0,
        "tpm_left": None,
        "server_rpm": None,
        "server_left": None,
        "in_flight": 3,
        "waiting": 0,
        "paused_s": 18.0,
        "pause_reason": "the pause a 429 asked for",
        "error": None,
    }


def test_an_open_circuit_says_since_when_after_how_many_and_the_next_probe(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    p = profile(breaker=Breaker(failures=3, cooldown=30))
    for _ in range(3):
        permit = g.enter(p, request(), priority="normal", notes=Said().notes_sink)
        g.exit(permit, None, NetworkError("connection refused"))
    (status,) = look(db, [p], now=clock.now + 12)
    since = time.strftime("%H:%M", time.localtime(clock.now))
    assert circuit_text(status) == f"open since {since} after 3 failures; next probe in 18 s"
    breaker = to_json(status)["breaker"]
    assert breaker["state"] == "open" and breaker["consecutive_failures"] == 3 and breaker["next_probe_s"] == 18
    assert breaker["since"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock.now))
    assert breaker["last_error"] == "connection refused" and breaker["failures"] == 3 and breaker["cooldown"] == 30
    (later,) = look(db, [p], now=clock.now + 31)
    assert circuit_text(later) == f"open since {since} after 3 failures; the next request is its probe"
    clock.advance(31)
    g.enter(p, request(), priority="normal", notes=Said().notes_sink)
    (probing,) = look(db, [p], now=clock.now)
    assert circuit_text(probing) == f"half-open since {since} after 3 failures; a probe request is under way"

    assert reset(db, p) is True
    (closed,) = look(db, [p], now=clock.now)
    assert circuit_text(closed, rule=False) == "closed" and to_json(closed)["breaker"]["since"] is None


def test_a_streak_and_the_rules_are_shown_for_a_closed_circuit(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    p = profile(breaker=Breaker(failures=5, cooldown=10, ratio=0.5, min_requests=20, window=120))
    permit = g.enter(p, request(), priority="normal", notes=Said().notes_sink)
    g.exit(permit, None, EndpointError("HTTP 502"))
    (status,) = look(db, [p], now=clock.now)
    assert circuit_text(status) == (
        "closed, 1 failure in a row (opens after 5 failures in a row or when 50 % of 20+ requests in 120 s "
        "failed, 10 s cooldown)"
    )
    assert breaker_rule(Breaker(failures=0, ratio=0.25)) == (
        "opens when 25 % of 10+ requests in 60 s failed, 30 s cooldown"
    )
    off = profile(breaker=Breaker(enabled=False))
    (status,) = look(db, [off])
    assert circuit_text(status) == "off (breaker = false)" and to_json(status)["breaker"]["state"] is None


def test_reset_keeps_the_buckets_and_in_flight_requests(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock, pid=os.getpid())
    p = profile(limits=Limits(rpm=60, max_in_flight=2))
    g.enter(p, request(), priority="normal", notes=Said().notes_sink)
    g.observe(p, 429, {"retry-after": "50"})
    assert reset(db, p) is True
    (status,) = look(db, [p], now=clock.now)
    assert status.pause_s is None and status.in_flight == 1
    assert status.rpm is not None and status.rpm.left == pytest.approx(59)


def test_the_servers_learned_bucket_is_shown(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    p = profile()
    g.observe(
        p,
        200,
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "30",
            "x-ratelimit-reset-requests": "30s",
        },
    )
    (status,) = look(db, [p], now=clock.now)
    assert limits_text(status) == "server's request limit about 58/min (30.0 left)"
    assert to_json(status)["limits"]["server_rpm"] == 58.0


def test_an_unreadable_store_is_said_and_the_settings_still_shown(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.mkdir()  # a folder where the file should be
    p = profile(limits=Limits(rpm=60))
    (status,) = look(db, [p])
    assert status.error is not None
    assert limits_text(status).startswith("rpm 60/min (60.0 left) (limits.db unreadable: ")
