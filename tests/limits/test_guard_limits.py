"""``SharedGuard``'s limits with two guards on one ``limits.db``, as two relay processes hold it: the
shared buckets, a 429's pause, in-flight slots, dead processes' leases, priorities, the total deadline,
the wait note, a bucket learned from the server's headers and retries that wait like requests.
Time is injected: nothing here really waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaycli.config.profile import Limits
from relaycli.datatypes import Result, Timing, Usage
from relaycli.errors import ExitCode, RateLimited
from relaycli.limits.guard import Permit, SharedGuard
from relaycli.limits.status import describe
from relaycli.limits.store import LimitStore

from .support import Clock, Said, guard, profile, request

OPENAI_FULL = {"x-ratelimit-limit-requests": "4", "x-ratelimit-remaining-requests": "0"}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "limits.db"


def enter(g: SharedGuard, p: object, said: Said | None = None, priority: str = "normal") -> Permit:
    permit = g.enter(p, request(), priority=priority, notes=(said or Said()).notes_sink)  # type: ignore[arg-type]
    assert isinstance(permit, Permit)
    return permit


def status(db: Path, p: object, now: float):  # type: ignore[no-untyped-def]
    store, _ = LimitStore.open(db)
    try:
        return describe(store, p, now)  # type: ignore[arg-type]
    finally:
        store.close()


def test_the_rpm_bucket_is_shared_by_both_processes(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(rpm=120, burst=2))
    enter(one, p)
    enter(one, p)
    assert clock.slept == [pytest.approx(0.1)]  # the burst's last request keeps 0.1 s of refill in hand
    said = Said()
    enter(two, p, said)  # the other process finds the bucket as the first one left it
    assert clock.slept == [pytest.approx(0.1), pytest.approx(0.5)]
    assert status(db, p, clock.now).rpm.left == pytest.approx(0.2)
    assert said.notes == []  # a wait of a second or less says nothing


def test_a_wait_longer_than_a_second_is_noted_once(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(rpm=6, burst=1))
    enter(one, p)
    said = Said()
    enter(two, p, said)
    assert sum(clock.slept) == pytest.approx(10.0)  # a bucket of 1 has no room for a reserve
    assert max(clock.slept) == 1.0  # a long wait looks again every second
    assert said.notes == ["profile 'p': waiting 10 s for the rpm limit (6/min)"]  # said once


def test_a_429_seen_by_one_process_pauses_the_other_for_as_long_as_the_server_asked(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile()  # no limits of its own: the pause applies anyway
    one.observe(p, 429, {"retry-after": "3"})
    said = Said()
    enter(two, p, said)
    assert clock.slept == [1.0, 1.0, 1.0]
    assert said.notes == ["profile 'p': waiting 3.0 s for the pause a 429 asked for"]
    one.observe(p, 429, {"retry-after": "1"})
    one.observe(p, 429, {"retry-after": "0.5"})  # a shorter pause never shortens a longer one
    clock.slept.clear()
    enter(two, p)
    assert clock.slept == [1.0]


def test_a_reset_during_a_long_pause_is_seen_within_a_second(db: Path) -> None:
    from relaycli.limits.status import reset

    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile()
    one.observe(p, 429, {"retry-after": "600"})
    clock.during = [lambda: None, lambda: reset(db, p)]  # `relay ping -p p --reset` from another terminal
    enter(two, p)
    assert clock.slept == [1.0, 1.0]


def test_max_in_flight_counts_the_requests_of_every_process(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(max_in_flight=1))
    held = enter(one, p)
    assert held.leased
    clock.during = [lambda: None, lambda: None, lambda: one.exit(held, None, None)]
    enter(two, p)
    assert clock.slept == [0.05, 0.05, 0.05]  # looked again every 50 ms until the slot was free
    assert status(db, p, clock.now).in_flight == 1


def test_a_long_wait_for_a_slot_is_noted_once_without_a_made_up_duration(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(max_in_flight=1))
    held = enter(one, p)
    clock.during = [lambda: None] * 29 + [lambda: one.exit(held, None, None)]
    said = Said()
    enter(two, p, said)
    assert len(clock.slept) == 30
    assert said.notes == ["profile 'p': waiting for a free slot (max_in_flight = 1)"]


def test_the_lease_of_a_process_that_died_is_swept(db: Path) -> None:
    clock = Clock()
    dead = {1}
    one = guard(db, clock, pid=1, alive=lambda pid: pid not in dead)
    two = guard(db, clock, pid=2, alive=lambda pid: pid not in dead)
    p = profile(limits=Limits(max_in_flight=1))
    enter(one, p)  # then process 1 is killed: its exit never runs
    enter(two, p)
    assert clock.slept == []  # no wait: the dead process's slot was taken back at once
    assert status(db, p, clock.now).in_flight == 1


def test_a_lease_past_its_expiry_is_swept_even_if_its_pid_lives(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(max_in_flight=1), total=10)
    enter(one, p)  # a pid that lives on (reused by another program) but never lets go
    clock.advance(15.1)  # the total deadline and 5 s of grace: no request holds a slot longer
    enter(two, p)
    assert clock.slept == []


def test_a_waiting_high_priority_request_makes_lower_ones_wait(db: Path) -> None:
    clock = Clock()
    batch, person = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(rpm=60, burst=1))
    enter(batch, p, priority="low")  # the bucket is empty now
    looked: list[float] = []

    class Stop(Exception):
        pass

    def low_sleep(seconds: float) -> None:
        looked.append(seconds)
        raise Stop

    late = guard(db, clock, pid=3, sleep=low_sleep)

    def while_the_person_waits() -> None:
        # the refill is there, but a request of higher priority waits for it: the low one must not take it
        with pytest.raises(Stop):
            late.enter(p, request(), priority="low", notes=Said().notes_sink)

    clock.during = [while_the_person_waits]
    said = Said()
    enter(person, p, said, priority="high")
    assert clock.slept == [pytest.approx(1.0)] and looked == [0.05]
    assert status(db, p, clock.now).waiting == 0  # neither left a waiting row behind
    clock.advance(1.1)
    enter(late, p, priority="low")  # nobody of higher priority waits now


def test_a_high_priority_request_does_not_wait_for_lower_ones(db: Path) -> None:
    clock = Clock()
    batch, waiting = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(rpm=60, burst=1))
    enter(batch, p, priority="low")

    def never(seconds: float) -> None:
        raise AssertionError(f"the person waited {seconds} s")

    person = guard(db, clock, pid=3, sleep=never)
    clock.during = [lambda: enter(person, p, priority="high")]  # comes while the low one sleeps: goes first
    enter(waiting, p, priority="low")
    assert clock.slept == [pytest.approx(1.0), pytest.approx(1.0)]  # the low one waits for the next refill


def test_a_wait_past_the_total_deadline_is_exit_8_saying_how_long_it_would_have_been(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(total=5)
    one.observe(p, 429, {"retry-after": "30"})
    with pytest.raises(RateLimited) as caught:
        two.enter(p, request(), priority="normal", notes=Said().notes_sink)
    assert caught.value.exit_code == ExitCode.RATE_LIMITED
    assert caught.value.message == (
        "profile 'p' would have to wait 30 s for the pause a 429 asked for, past the request's total deadline (5 s)"
    )
    assert "timeout.total" in (caught.value.hint or "")
    assert clock.slept == []  # the wait was not begun
    assert status(db, p, clock.now).waiting == 0


def test_waiting_for_a_slot_until_the_deadline_says_how_long_it_waited(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(max_in_flight=1), total=1)
    enter(one, p)
    with pytest.raises(RateLimited, match=r"waited 1\.0 s for a free slot \(max_in_flight = 1\) until the request"):
        two.enter(p, request(), priority="normal", notes=Said().notes_sink)


def test_the_tpm_bucket_takes_an_estimate_and_settles_it_with_the_reported_usage(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    p = profile(limits=Limits(tpm=1000))
    permit = enter(g, p)
    assert permit.estimate == 10  # ceil((5 + 16) / 4) + 4
    assert status(db, p, clock.now).tpm.left == pytest.approx(990)
    result = Result("hi", "m", "stop", Usage(prompt_tokens=30, completion_tokens=70), None, Timing())
    g.exit(permit, result, None)
    assert status(db, p, clock.now).tpm.left == pytest.approx(900)  # 100 used in all
    unknown = enter(g, p)
    g.exit(unknown, Result("", None, None, Usage(), None, Timing()), None)
    assert status(db, p, clock.now).tpm.left == pytest.approx(890)  # no usage: the estimate stands


def test_the_servers_remaining_count_tightens_the_configured_bucket(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(rpm=60))
    one.observe(p, 200, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"})
    enter(two, p)
    assert sum(clock.slept) == pytest.approx(1.1)  # someone else used the key: the server's count rules


def test_without_rpm_the_servers_bucket_is_learned_and_shared(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile()
    # 0 of 4 left, full in 1 s: at least 3 a second
    one.observe(p, 200, {**OPENAI_FULL, "x-ratelimit-reset-requests": "1s"})
    enter(two, p)
    assert clock.slept == [pytest.approx(1.3 / 3)]  # a request and 0.1 s of reserve at 3/s
    server = status(db, p, clock.now).server
    assert server is not None and server.per_minute == pytest.approx(180) and server.capacity == 4


def test_a_retry_waits_for_the_shared_pause_and_takes_from_the_bucket(db: Path) -> None:
    clock = Clock()
    one, two = guard(db, clock, pid=1), guard(db, clock, pid=2)
    p = profile(limits=Limits(rpm=60, burst=1))
    one.observe(p, 429, {"retry-after": "2"})
    said = Said()
    two.retry_wait(p, 0.5, said.notes_sink)  # the client's own wait, then the rest of the pause
    assert clock.slept == [0.5, 1.0, pytest.approx(0.5)]
    assert status(db, p, clock.now).rpm.left == pytest.approx(0)  # the retry took its request
    clock.slept.clear()
    two.retry_wait(p, 0, said.notes_sink)
    assert clock.slept == [pytest.approx(1.0)]  # a bucket of 1 has no room for a reserve
    assert said.notes == ["profile 'p': waiting 1.5 s for the pause a 429 asked for"]


def test_a_profile_without_limits_or_trouble_writes_nothing(db: Path) -> None:
    clock = Clock()
    g = guard(db, clock)
    p = profile()
    permit = enter(g, p)
    assert permit.quiet and not permit.leased
    g.exit(permit, None, None)
    g.observe(p, 200, {"content-type": "text/event-stream"})
    g.close()
    store, _ = LimitStore.open(db)
    with store.transaction() as tx:
        assert tx.all("p") == {}
    store.close()
