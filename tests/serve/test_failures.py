"""A failure as a status for the gateway's client: the upstream's own client errors as they were, the rest
as a gateway's (502, 503, 504, 429)."""

from __future__ import annotations

import pytest

from relaycli.errors import (
    APIError,
    AuthError,
    BudgetExceeded,
    CircuitOpen,
    EndpointError,
    NetworkError,
    RateLimited,
    RelayTimeout,
    UsageError,
)
from relaycli.serve.failures import describe


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (APIError("unknown model", status=404), 404),
        (EndpointError("bad request", status=400), 400),
        (EndpointError("server error", status=500), 502),
        (AuthError("the profile's key was refused", status=401), 502),
        (RateLimited("slow down", status=429), 429),
        (BudgetExceeded("over budget"), 429),
        (CircuitOpen("circuit open since 14:02"), 503),
        (RelayTimeout("no answer within 60 s"), 504),
        (NetworkError("connection refused"), 502),
        (UsageError("cannot be translated"), 400),
    ],
)
def test_statuses(error: Exception, status: int) -> None:
    assert describe(error)[0] == status


def test_a_bug_is_a_500_that_names_only_its_class() -> None:
    assert describe(KeyError("secret detail")) == (500, "relay serve failed: KeyError")
