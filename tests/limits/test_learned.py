"""The server's request bucket learned from its headers: its size, its level and a refill rate that is
never faster than the server's."""

from __future__ import annotations

import pytest

from relaycli.limits.bucket import Bucket
from relaycli.limits.headers import ServerLimits
from relaycli.limits.learned import learn


def said(limit: int | None, remaining: int | None, reset: float | None) -> ServerLimits:
    return ServerLimits(requests_limit=limit, requests_remaining=remaining, requests_reset_s=reset)


def test_nothing_to_learn_without_a_size_and_a_level() -> None:
    assert learn(None, said(None, 3, 1.0), 0.0) is None
    assert learn(None, said(4, None, 1.0), 0.0) is None
    assert learn(None, said(0, 0, 1.0), 0.0) is None
    kept = Bucket(4, 1, 2, 0)
    assert learn(kept, said(None, 0, 1.0), 5.0) is kept and kept.tokens == 2


def test_the_first_response_gives_the_size_the_level_and_a_rate_from_below() -> None:
    # 2 left of 4, full again in 0.5 s: the level is in [2, 3), so the rate is in (2/s, 4/s]
    bucket = learn(None, said(4, 2, 0.5), 100.0)
    assert bucket == Bucket(capacity=4, rate=2.0, tokens=2, updated=100.0)


def test_a_full_bucket_says_no_rate_and_a_minute_is_assumed() -> None:
    bucket = learn(None, said(60, 60, 0.0), 0.0)
    assert bucket is not None and bucket.rate == 1.0 and bucket.tokens == 60
    one_used = learn(None, said(60, 59, 0.5), 0.0)  # (0, 2/s]: the minute's 1/s fits
    assert one_used is not None and one_used.rate == 1.0
    fast = learn(None, said(600, 599, 0.05), 0.0)  # at most 20/s: 10/s assumed
    assert fast is not None and fast.rate == 10.0
    slow = learn(None, said(60, 59, 5.0), 0.0)  # at most 0.2/s, less than a minute's worth
    assert slow is not None and slow.rate == pytest.approx(0.2)


def test_later_responses_raise_the_rate_towards_the_servers_and_lower_the_level() -> None:
    bucket = learn(None, said(4, 2, 0.5), 0.0)
    assert bucket is not None
    bucket.take(1, 0.0)
    learn(bucket, said(4, 0, 1.0), 0.0)  # the rate is in (3/s, 4/s]
    assert bucket.rate == 3.0 and bucket.tokens == 0  # we thought 1; the server has less than 1
    learn(bucket, said(4, 0, 0.9), 0.1)  # (3.33/s, 4.44/s]
    assert bucket.rate == pytest.approx(3 / 0.9)
    learn(bucket, said(4, 3, 0.25), 0.2)  # (0, 4/s]: nothing new
    assert bucket.rate == pytest.approx(3 / 0.9)


def test_a_response_that_proves_the_rate_too_fast_lowers_it() -> None:
    bucket = Bucket(capacity=4, rate=3.0, tokens=0, updated=0.0)
    learn(bucket, said(4, 0, 1.6), 0.0)  # at most 2.5/s now (the server slowed down)
    assert bucket.rate == pytest.approx(3 / 1.6)


def test_a_new_size_retunes_the_bucket() -> None:
    bucket = Bucket(capacity=4, rate=3.0, tokens=4, updated=0.0)
    learn(bucket, said(2, 2, 0.0), 0.0)
    assert (bucket.capacity, bucket.tokens) == (2, 2)
    learn(bucket, said(4, 9, 0.0), 1.0)  # a level above the size is the size; the server never raises ours
    assert bucket.capacity == 4 and bucket.tokens == 2
    assert bucket.level(2.0) == 4
