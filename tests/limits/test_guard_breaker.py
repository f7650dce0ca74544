"""The circuit breaker through ``SharedGuard``, shared by two processes: which failures count, the
message and exit code of a refusal, the one probe, and a retry-after that lengthens the cooldown."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from relaycli.config.profile import Breaker
from relaycli.errors import APIError, AuthError, CircuitOpen, EndpointError, NetworkError, RateLimited, RelayTimeout
from relaycli.limits.guard import Permit, SharedGuard

from .support import Clock, Said, guard, profile, request

P = profile(breaker=Breaker(failures=3, cooldown=30))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "limits.db"


def attempt(g: SharedGuard, error: BaseException | None, p: object = P) -> Permit:
    permit = g.enter(p, request(), priority="normal", notes=Said().notes_sink)  # type: ignore[arg-type]
    assert isinstance(permit, Permit)
    g.exit(permit, None, error)
    return permit


def refused(g: SharedGuard, p: object = P) -> CircuitOpen:
    with pytest.raises(CircuitOpen) as caught:
        g.enter(p, request(), priority="normal", notes=Said().notes_sink)  # type: ignore[arg-type]
    return caught.value


def test_failures_in_one_process_open_the_circuit_for_the_other(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    for _ in range(3):
        attempt(one, EndpointError("HTTP 503: server error from 127.0.0.1:9 (profile 'p')", status=503))
    clock.advance(18)
    error = refused(two)
    since = time.strftime("%H:%M", time.localtime(clock.now - 18))
    assert error.message == (
        f"circuit open for profile 'p' since {since} after 3 failures; next probe in 12 s; "
        "last error: HTTP 503: server error from 127.0.0.1:9 (profile 'p')"
    )
    assert re.match(r"circuit open for profile 'p' since \d\d:\d\d after 3 failures; next probe in 12 s", error.message)
    assert error.exit_code == 5
    assert error.hint is not None and "relay ping -p p --reset" in error.hint
    assert clock.slept == []  # refused at once


def test_after_network_failures_the_refusal_is_exit_7(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    for _ in range(3):
        attempt(g, NetworkError("connection refused"))
    assert refused(g).exit_code == 7


def test_timeouts_count_4xx_answers_reset_and_429s_do_not_count(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    attempt(g, RelayTimeout("read timeout"))
    attempt(g, EndpointError("truncated"))
    attempt(g, APIError("HTTP 404: no such model", status=404))  # the endpoint answered: the streak ends
    attempt(g, RelayTimeout("read timeout"))
    attempt(g, AuthError("HTTP 401", status=401))
    attempt(g, NetworkError("reset"))
    attempt(g, RateLimited("HTTP 429", status=429))  # neither a failure nor an answer that resets
    attempt(g, KeyboardInterrupt())
    attempt(g, NetworkError("reset"))
    attempt(g, None)
    attempt(g, NetworkError("reset"))
    attempt(g, NetworkError("reset"))
    permit = attempt(g, None)
    assert not permit.quiet  # the streak of 2 had to be cleared
    assert attempt(g, None).quiet  # and now it is clean: no write on success


def test_after_the_cooldown_one_probe_goes_and_its_success_closes_the_circuit(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    for _ in range(3):
        attempt(one, EndpointError("HTTP 503", status=503))
    clock.advance(30)
    probe = two.enter(P, request(), priority="normal", notes=Said().notes_sink)
    assert isinstance(probe, Permit) and probe.probe
    assert refused(one).message.endswith("a probe request is under way; last error: HTTP 503")
    two.exit(probe, None, None)
    assert not attempt(one, None).probe  # closed
    for _ in range(2):
        attempt(one, EndpointError("HTTP 503", status=503))
    attempt(one, None)  # the circuit starts counting from zero again


def test_a_failed_probe_opens_it_for_another_cooldown(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    for _ in range(3):
        attempt(g, EndpointError("HTTP 503", status=503))
    clock.advance(30)
    assert attempt(g, EndpointError("HTTP 503", status=503)).probe
    clock.advance(29)
    assert "next probe in 1.0 s" in refused(g).message
    clock.advance(1)
    assert attempt(g, None).probe


def test_a_probe_that_tells_nothing_lets_the_next_request_probe(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    for _ in range(3):
        attempt(g, EndpointError("HTTP 503", status=503))
    clock.advance(30)
    assert attempt(g, KeyboardInterrupt()).probe  # Ctrl-C during the probe
    assert attempt(g, None).probe


def test_a_probe_whose_process_died_is_given_up_after_the_deadline_and_grace(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(breaker=Breaker(failures=3, cooldown=30), total=20)
    for _ in range(3):
        attempt(one, EndpointError("HTTP 503", status=503), p)
    clock.advance(30)
    lost = one.enter(p, request(), priority="normal", notes=Said().notes_sink)
    assert isinstance(lost, Permit) and lost.probe  # then the process is killed
    clock.advance(24.9)
    refused(two, p)
    clock.advance(0.1)  # 20 s total + 5 s grace
    assert attempt(two, None, p).probe


def test_a_retry_after_on_a_5xx_lengthens_the_cooldown(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    for _ in range(3):
        one.observe(P, 503, {"retry-after": "120"})
        attempt(one, EndpointError("HTTP 503", status=503))
    clock.advance(60)
    assert "next probe in 60 s" in refused(two).message
    two.observe(P, 529, {"retry-after-ms": "200000"})  # asked again while open: longer still
    assert "next probe in 3.3 min" in refused(two).message


def test_breaker_false_never_refuses(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    off = profile(breaker=Breaker(enabled=False))
    for _ in range(10):
        attempt(g, EndpointError("HTTP 503", status=503), off)
    assert attempt(g, None, off).quiet


def test_a_failure_share_opens_it_through_the_guard(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    p = profile(breaker=Breaker(failures=0, ratio=0.5, min_requests=4, window=60))
    for error in (None, EndpointError("503"), None, EndpointError("503")):
        attempt(g, error, p)
    assert "after 1 failure;" in refused(g, p).message  # opened by the share: 1 in a row at the time
