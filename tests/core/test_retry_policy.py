"""The retry policy alone: which failures retry and how long to wait."""

from __future__ import annotations

import pytest

from relaycli.core.retry import Failure, RetryPolicy, backoff, server_wait, status_retryable

NOW = 1_700_000_000.0


def policy(retries: int = 2, rand: float = 1.0) -> RetryPolicy:
    return RetryPolicy(retries, rand=lambda: rand, wall_clock=lambda: NOW)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses(status: int) -> None:
    assert status_retryable(status)
    assert policy().decide(Failure("status", status=status), 0).retry


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422, 402, 418])
def test_never_retried_statuses(status: int) -> None:
    assert not policy().decide(Failure("status", status=status), 0).retry


def test_x_should_retry_overrides_status() -> None:
    p = policy()
    assert p.decide(Failure("status", status=400, headers={"X-Should-Retry": "true"}), 0).retry
    assert not p.decide(Failure("status", status=503, headers={"x-should-retry": "false"}), 0).retry


def test_budget() -> None:
    p = policy(retries=2)
    f = Failure("status", status=503)
    assert p.decide(f, 0).retry and p.decide(f, 1).retry
    decision = p.decide(f, 2)
    assert not decision.retry and decision.reason == "retries exhausted"
    assert not policy(retries=0).decide(f, 0).retry


def test_backoff_schedule_and_jitter() -> None:
    assert [backoff(n, lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert [backoff(n, lambda: 0.0) for n in range(3)] == [0.375, 0.75, 1.5]
    assert policy(retries=5, rand=0.0).decide(Failure("connect"), 4).wait_s == 6.0


def test_retry_after_ms_wins_over_retry_after() -> None:
    headers = {"retry-after-ms": "1500", "retry-after": "30"}
    assert server_wait(headers, NOW) == 1.5
    assert policy().decide(Failure("status", status=429, headers=headers), 0).wait_s == 1.5


def test_retry_after_seconds_and_http_date() -> None:
    assert server_wait({"Retry-After": "7"}, NOW) == 7.0
    assert server_wait({"retry-after": "Tue, 14 Nov 2023 22:13:30 GMT"}, NOW) == pytest.approx(10.0)
    assert server_wait({"retry-after": "garbage"}, NOW) is None
    assert server_wait({}, NOW) is None
    # an unusable header falls back to backoff
    assert policy().decide(Failure("status", status=503, headers={"retry-after": "soon"}), 1).wait_s == 1.0


def test_zero_retry_after_is_honoured() -> None:
    decision = policy().decide(Failure("status", status=429, headers={"retry-after": "0"}), 0)
    assert decision.retry and decision.wait_s == 0.0


def test_too_long_retry_after_gives_up_with_the_asked_wait() -> None:
    decision = policy().decide(Failure("status", status=429, headers={"retry-after": "120"}), 0)
    assert not decision.retry and decision.asked_s == 120.0
    assert policy().decide(Failure("status", status=429, headers={"retry-after": "60"}), 0).retry


def test_never_after_content() -> None:
    p = policy()
    for kind in ("connect", "stream_error", "read_timeout", "truncated"):
        assert not p.decide(Failure(kind, content_seen=True), 0).retry  # type: ignore[arg-type]
    assert not p.decide(Failure("status", status=503, content_seen=True, headers={"x-should-retry": "true"}), 0).retry


def test_read_timeout_only_for_streams() -> None:
    p = policy()
    assert p.decide(Failure("read_timeout", streaming=True), 0).retry
    assert not p.decide(Failure("read_timeout", streaming=False), 0).retry
    assert p.decide(Failure("connect_timeout", streaming=False), 0).retry
    assert p.decide(Failure("connect", streaming=False), 0).retry
    assert not p.decide(Failure("fatal"), 0).retry


def test_stream_error_events_before_content() -> None:
    p = policy()
    assert p.decide(Failure("stream_error", error_type="overloaded_error"), 0).retry
    assert p.decide(Failure("stream_error", error_type=None), 0).retry
    assert not p.decide(Failure("stream_error", error_type="invalid_request_error"), 0).retry
    assert not p.decide(Failure("stream_error", error_type="401"), 0).retry


@pytest.mark.parametrize("error_type", ["BadRequestError", "NotFoundError", "400", "422"])
def test_in_stream_client_errors_of_other_dialects_are_not_retried(error_type: str) -> None:
    policy = RetryPolicy(2, rand=lambda: 1.0)
    assert not policy.retryable(Failure("stream_error", error_type=error_type))
    assert policy.retryable(Failure("stream_error", error_type="overloaded_error"))
    assert policy.retryable(Failure("stream_error", error_type="InternalServerError"))


def test_waits_too_long_to_honour_are_said_in_words() -> None:
    from relaycli.core.transport import _human

    assert [_human(s) for s in (1, 2, 61, 90, 3600, 5400)] == [
        "1 second",
        "2 seconds",
        "about 1 minute",
        "about 2 minutes",
        "about 1 hour",
        "about 1.5 hours",
    ]
