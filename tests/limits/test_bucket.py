"""Token-bucket arithmetic: refill, waits, debts, reserves, the server's word and new settings."""

from __future__ import annotations

import math

import pytest

from relaycli.limits.bucket import Bucket


def test_a_full_bucket_lets_its_burst_through_then_waits_for_the_refill() -> None:
    bucket = Bucket.full(capacity=3, rate=0.5, now=100.0)
    for _ in range(3):
        assert bucket.wait_s(1, 100.0) == 0
        bucket.take(1, 100.0)
    assert bucket.tokens == 0
    assert bucket.wait_s(1, 100.0) == pytest.approx(2.0)  # one token at 0.5/s
    assert bucket.wait_s(1, 101.0) == pytest.approx(1.0)
    assert bucket.wait_s(1, 102.0) == 0


def test_refill_never_passes_the_capacity_and_time_never_runs_backwards() -> None:
    bucket = Bucket(capacity=5, rate=1, tokens=0, updated=100.0)
    bucket.refill(1000.0)
    assert bucket.tokens == 5
    bucket.take(2, 1000.0)
    bucket.refill(990.0)  # another process's clock, a little behind: nothing changes
    assert (bucket.tokens, bucket.updated) == (3, 1000.0)
    assert bucket.level(1001.5) == 4.5 and bucket.tokens == 3  # a look changes nothing


def test_a_cost_larger_than_the_bucket_waits_for_a_full_bucket_and_leaves_a_debt() -> None:
    bucket = Bucket(capacity=100, rate=10, tokens=40, updated=0.0)
    assert bucket.wait_s(250, 0.0) == pytest.approx(6.0)  # until full, not forever
    bucket.take(250, 6.0)
    assert bucket.tokens == -150
    assert bucket.wait_s(1, 6.0) == pytest.approx(15.1)  # the debt is waited out first


def test_a_reserve_shifts_the_schedule_once_and_costs_no_throughput() -> None:
    bucket = Bucket.full(capacity=2, rate=4, now=0.0)
    reserve = 4 * 0.1
    takes = []
    now = 0.0
    for _ in range(10):
        now += bucket.wait_s(1, now, reserve=reserve)
        bucket.take(1, now)
        takes.append(now)
    assert takes[0] == 0.0
    assert takes[1] == pytest.approx(0.1)  # the burst's last request leaves 0.4 behind
    gaps = [b - a for a, b in zip(takes[2:], takes[3:], strict=False)]
    assert all(gap == pytest.approx(0.25) for gap in gaps)  # then exactly the rate
    assert bucket.wait_s(1, now, reserve=10) == pytest.approx((2 - bucket.tokens) / 4)  # never above capacity


def test_give_back_returns_an_overestimate_or_charges_an_underestimate() -> None:
    bucket = Bucket(capacity=1000, rate=10, tokens=500, updated=0.0)
    bucket.give_back(200)
    assert bucket.tokens == 700
    bucket.give_back(900)
    assert bucket.tokens == 1000  # never above capacity
    bucket.give_back(-1300)
    assert bucket.tokens == -300


def test_the_server_lowers_the_level_only_by_whole_tokens() -> None:
    bucket = Bucket(capacity=10, rate=1, tokens=7.5, updated=0.0)
    bucket.at_most(7, 0.0)  # the server rounds down: 7.5 may be exactly what it has
    assert bucket.tokens == 7.5
    bucket.at_most(3, 0.0)  # clearly fewer: believe it
    assert bucket.tokens == 3
    bucket.at_most(9, 0.0)  # more than we think: it never raises the level
    assert bucket.tokens == 3
    bucket.at_most(0, 2.0)  # refilled to 5 by now, the server says 0
    assert bucket.tokens == 0 and bucket.wait_s(1, 2.0) == pytest.approx(1.0)


def test_retune_keeps_the_level_within_the_new_capacity() -> None:
    bucket = Bucket(capacity=60, rate=1, tokens=50, updated=0.0)
    bucket.retune(capacity=20, rate=2)
    assert (bucket.capacity, bucket.rate, bucket.tokens) == (20, 2, 20)
    bucket.retune(capacity=100, rate=2)
    assert bucket.tokens == 20


def test_a_bucket_that_never_refills_waits_forever() -> None:
    bucket = Bucket(capacity=5, rate=0, tokens=0, updated=0.0)
    assert math.isinf(bucket.wait_s(1, 0.0))
