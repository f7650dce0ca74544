"""What servers say about their limits: OpenAI's durations, Anthropic's RFC 3339 resets, retry-after in
seconds, as an HTTP date or in milliseconds, and the pause that follows from it."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from relaycli.limits.headers import ServerLimits, read_limits

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1m30.5s", 90.5),
        ("1h2m3s", 3723.0),
        ("59.877s", 59.877),
        ("250us", 0.00025),
        ("2.5", 2.5),
        ("0", 0.0),
    ],
)
def test_openai_reset_durations(value: str, seconds: float) -> None:
    said = read_limits(200, {"x-ratelimit-reset-requests": value, "x-ratelimit-remaining-requests": "3"}, NOW)
    assert said.requests_reset_s == pytest.approx(seconds)
    assert said.requests_remaining == 3


@pytest.mark.parametrize("value", ["soon", "1x", "s", "-", "1s2", "nan", "inf"])
def test_a_reset_that_is_not_a_duration_says_nothing(value: str) -> None:
    assert read_limits(200, {"x-ratelimit-reset-requests": value}, NOW).requests_reset_s is None


def test_openai_headers_all_together() -> None:
    said = read_limits(
        200,
        {
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "59",
            "x-ratelimit-reset-requests": "1s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "149984",
            "x-ratelimit-reset-tokens": "6ms",
        },
        NOW,
    )
    assert said == ServerLimits(
        retry_after_s=None,
        requests_limit=60,
        requests_remaining=59,
        requests_reset_s=1.0,
        tokens_limit=150000,
        tokens_remaining=149984,
        tokens_reset_s=pytest.approx(0.006),  # type: ignore[arg-type]
    )
    assert said.pause_s is None and said.said_anything


def test_anthropic_headers_with_rfc3339_resets() -> None:
    from datetime import UTC, datetime

    base = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()
    said = read_limits(
        200,
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30Z",
            "anthropic-ratelimit-input-tokens-limit": "40000",
            "anthropic-ratelimit-input-tokens-remaining": "39000",
            "anthropic-ratelimit-input-tokens-reset": "2027-01-15T08:00:01.5+00:00",
        },
        base,
    )
    assert (said.requests_limit, said.requests_remaining) == (50, 0)
    assert said.requests_reset_s == pytest.approx(30.0)
    assert (said.tokens_limit, said.tokens_remaining) == (40000, 39000)
    assert said.tokens_reset_s == pytest.approx(1.5)
    past = read_limits(200, {"anthropic-ratelimit-requests-reset": "2027-01-15T07:59:00Z"}, base)
    assert past.requests_reset_s == 0.0  # already reset
    naive = read_limits(200, {"anthropic-ratelimit-requests-reset": "2027-01-15T08:00:30"}, base)
    assert naive.requests_reset_s is None  # no zone: no time to trust


def test_retry_after_in_seconds_as_an_http_date_and_in_milliseconds() -> None:
    assert read_limits(429, {"retry-after": "7"}, NOW).retry_after_s == 7.0
    assert read_limits(429, {"Retry-After": "1.5"}, NOW).retry_after_s == 1.5
    date = formatdate(NOW + 120, usegmt=True)
    assert read_limits(503, {"retry-after": date}, NOW).retry_after_s == pytest.approx(120.0)
    assert read_limits(429, {"retry-after-ms": "250", "retry-after": "3"}, NOW).retry_after_s == 0.25
    assert read_limits(429, {"retry-after": "later"}, NOW).retry_after_s is None
    assert read_limits(200, {"retry-after": "7"}, NOW).retry_after_s is None  # only a 429 or a 5xx asks
    assert read_limits(404, {"retry-after": "7"}, NOW).retry_after_s is None


def test_the_pause_a_response_asks_for() -> None:
    assert read_limits(429, {"retry-after": "2"}, NOW).pause_s == 2.0
    assert read_limits(429, {"retry-after": "0"}, NOW).pause_s is None
    # nothing left and no size given: no bucket can be learned, so wait for the reset
    bare = read_limits(200, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "3s"}, NOW)
    assert bare.pause_s == 3.0
    # with the size the bucket is learned instead (``learned.py``): no blanket pause
    sized = {
        "x-ratelimit-limit-requests": "4",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1s",
    }
    assert read_limits(200, sized, NOW).pause_s is None
    tokens = read_limits(200, {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "20s"}, NOW)
    assert tokens.pause_s == 20.0
    both = read_limits(429, {"retry-after": "5", **{k: v for k, v in sized.items() if "limit-" not in k}}, NOW)
    assert both.pause_s == 5.0  # the longer of the two
    assert read_limits(200, {"x-ratelimit-remaining-requests": "12"}, NOW).pause_s is None


def test_counts_that_are_not_numbers_are_ignored() -> None:
    said = read_limits(200, {"x-ratelimit-remaining-requests": "many", "x-ratelimit-limit-requests": "-3"}, NOW)
    assert said.requests_remaining is None and said.requests_limit == 0
    assert read_limits(200, {"x-ratelimit-remaining-requests": "12.7"}, NOW).requests_remaining == 12
    assert not read_limits(200, {"content-type": "text/event-stream"}, NOW).said_anything
