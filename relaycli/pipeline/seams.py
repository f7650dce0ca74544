"""The places where later stages plug into the pipeline, each with a default that does nothing.

* ``ResponseCache`` — looked up before the key and the budget (a hit needs neither and is never billed),
  stored after the row; ``count_hit`` is told what a replayed hit saved. ``relaycli.cache.DiskCache`` is
  the real one.
* ``AttemptGuard`` — wraps every attempt on one profile: the rate limiter waits in ``enter``, the circuit
  breaker refuses there (raising a ``RelayError``, which the router treats like any failure of that
  profile), and both learn from ``exit`` and from every response's headers (``observe``).
  ``relaycli.limits.SharedGuard`` is the real one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

from relaycli.cache.entry import Hit, TimedDelta
from relaycli.config.profile import Profile
from relaycli.core.bridge import pause
from relaycli.datatypes import ChatRequest, Notes, Result

if TYPE_CHECKING:
    from relaycli.ledger import Ledger, LedgerRow

__all__ = ["AttemptGuard", "LazyGuard", "NoCache", "NoGuard", "Priority", "ResponseCache"]

Priority = Literal["low", "normal", "high"]
"""Who waits first when a shared limit is short: ``high`` a person at a terminal, ``low`` background work."""


class ResponseCache(Protocol):
    def lookup(self, profile: Profile, request: ChatRequest) -> Hit | None:
        """A stored complete answer to exactly this request on this profile's endpoint, or None."""
        ...

    def store(
        self,
        profile: Profile,
        request: ChatRequest,
        result: Result,
        deltas: Sequence[TimedDelta],
        *,
        cost_usd: Decimal | None,
        cost_billed: Decimal | None,
        counted: bool,
    ) -> None:
        """Keep a complete, successful answer (never called for errors, truncation or interruption);
        ``counted``: it follows a lookup that missed."""
        ...

    def count_hit(self, hit: Hit, *, saved_usd: Decimal | None, saved_billed: Decimal | None, currency: str) -> None:
        """A hit was replayed in full and saved this much."""
        ...


class AttemptGuard(Protocol):
    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> object:
        """Called before an attempt on ``profile``; may wait (saying so in ``notes``), or raise a RelayError
        to refuse it. Returns the permit ``exit`` is given."""
        ...

    def exit(self, permit: object, result: Result | None, error: BaseException | None) -> None:
        """Called after the attempt ``enter`` permitted, with what it returned or raised."""
        ...

    def observe(self, profile: Profile, status: int, headers: Mapping[str, str]) -> None:
        """Told the status and headers of every response from ``profile``'s endpoint (retried ones too)."""
        ...

    def retry_wait(self, profile: Profile, seconds: float, notes: Notes | None) -> None:
        """The client's wait before it sends a request again: ``seconds`` (the server's retry-after or the
        backoff), and whatever a shared limit asks on top (a retry is a request like any other)."""
        ...


class NoCache:
    def lookup(self, profile: Profile, request: ChatRequest) -> Hit | None:
        return None

    def store(
        self,
        profile: Profile,
        request: ChatRequest,
        result: Result,
        deltas: Sequence[TimedDelta],
        *,
        cost_usd: Decimal | None,
        cost_billed: Decimal | None,
        counted: bool,
    ) -> None:
        return None

    def count_hit(self, hit: Hit, *, saved_usd: Decimal | None, saved_billed: Decimal | None, currency: str) -> None:
        return None


class NoGuard:
    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> object:
        return None

    def retry_wait(self, profile: Profile, seconds: float, notes: Notes | None) -> None:
        if seconds > 0:
            pause(seconds)

    def exit(self, permit: object, result: Result | None, error: BaseException | None) -> None:
        return None

    def observe(self, profile: Profile, status: int, headers: Mapping[str, str]) -> None:
        return None


class LazyGuard:
    """A guard made on first use, so a request that never reaches one (a cache hit) does not load it."""

    def __init__(self, make: Callable[[], AttemptGuard]) -> None:
        self._make = make
        self._guard: AttemptGuard | None = None
        self._lock = threading.Lock()

    @property
    def guard(self) -> AttemptGuard:
        guard = self._guard
        if guard is None:
            with self._lock:  # many threads may ask at once (relay batch): they get one guard
                if self._guard is None:
                    self._guard = self._make()
                guard = self._guard
        return guard

    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> object:
        return self.guard.enter(profile, request, priority=priority, notes=notes)

    def exit(self, permit: object, result: Result | None, error: BaseException | None) -> None:
        self.guard.exit(permit, result, error)

    def observe(self, profile: Profile, status: int, headers: Mapping[str, str]) -> None:
        self.guard.observe(profile, status, headers)

    def retry_wait(self, profile: Profile, seconds: float, notes: Notes | None) -> None:
        self.guard.retry_wait(profile, seconds, notes)


class BudgetCheck(Protocol):
    """A budget beyond the profile's (the team's, ``team/budget.py``): ``check_before`` may refuse a request
    (``BudgetExceeded``); ``check_after`` warns when the row just recorded crossed a threshold."""

    def check_before(self, ledger: Callable[[], Ledger], *, warn: Callable[[str], None], now: datetime) -> None: ...

    def check_after(
        self, ledger: Callable[[], Ledger], row: LedgerRow, *, warn: Callable[[str], None], now: datetime
    ) -> None: ...
