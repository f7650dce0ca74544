"""The circuit breaker's state machine, pure (time is a parameter).

``closed``: requests pass; counted failures (connection errors, timeouts, 5xx and 529, broken streams)
add up, a success or a 4xx answer resets the count. ``failures`` in a row, or a failure share of at least
``ratio`` over at least ``min_requests`` requests in the last ``window`` seconds, open the circuit.
``open``: requests are refused until the cooldown is over (``cooldown``, or longer when the server's
``retry-after`` asked for more), then ``half_open``: one request, the probe, is let through; its success
closes the circuit, its failure opens it again. A probe that never reports back (its process was killed)
is forgotten after ``probe_s`` seconds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from relaycli.config.profile import Breaker

__all__ = ["Circuit", "Verdict"]

Verdict = Literal["pass", "probe", "refuse"]
Kind = Literal["network", "endpoint"]


@dataclass(slots=True)
class Circuit:
    """A profile's circuit as stored: its state, the failures behind it, when it may be probed."""

    state: Literal["closed", "open", "half_open"] = "closed"
    consecutive: int = 0
    opened_at: float | None = None
    failures_at_open: int = 0
    until: float | None = None  # open: when the next probe may go
    probe_until: float | None = None  # half open: when an unanswered probe is given up
    last_kind: Kind = "endpoint"
    last_error: str = ""
    window_start: float = 0.0
    window_total: int = 0
    window_failed: int = 0
    asked_until: float | None = None  # a retry-after the server sent with a failure

    def admit(self, now: float, *, probe_s: float) -> Verdict:
        if self.state == "closed":
            return "pass"
        if self.state == "half_open" and self.probe_until is not None and now < self.probe_until:
            return "refuse"  # the probe is out
        if self.state == "open" and self.until is not None and now < self.until:
            return "refuse"
        self.state, self.probe_until = "half_open", now + probe_s
        return "probe"

    def succeeded(self, now: float, settings: Breaker) -> None:
        self._count(now, settings, failed=False)
        self.state, self.consecutive, self.opened_at, self.until, self.probe_until = "closed", 0, None, None, None
        self.failures_at_open = 0

    def failed(self, now: float, settings: Breaker, *, kind: Kind, error: str) -> None:
        self._count(now, settings, failed=True)
        self.consecutive += 1
        self.last_kind, self.last_error = kind, error
        if self.state == "open":
            return  # a request let through before the circuit opened: the cooldown runs as it was
        if self.state == "half_open" or self._tripped(settings):
            self.open(now, settings)

    def open(self, now: float, settings: Breaker) -> None:
        if self.state == "closed" or self.opened_at is None:
            self.opened_at = now  # a failed probe keeps the time the circuit first opened
        self.state = "open"
        self.failures_at_open = self.consecutive
        self.probe_until = None
        self.until = max(now + settings.cooldown, self.asked_until or 0.0)

    def server_asked(self, until: float) -> None:
        self.asked_until = max(self.asked_until or 0.0, until)
        if self.state == "open" and self.until is not None:
            self.until = max(self.until, until)

    def reset(self) -> None:
        fresh = Circuit()
        for name in self.__slots__:
            setattr(self, name, getattr(fresh, name))

    def _tripped(self, settings: Breaker) -> bool:
        if settings.failures and self.consecutive >= settings.failures:
            return True
        if settings.ratio is None or self.window_total < settings.min_requests:
            return False
        return self.window_failed / self.window_total >= settings.ratio

    def _count(self, now: float, settings: Breaker, *, failed: bool) -> None:
        if settings.ratio is None:
            return
        if now - self.window_start > settings.window:
            self.window_start, self.window_total, self.window_failed = now, 0, 0
        self.window_total += 1
        self.window_failed += int(failed)

    # -- storage ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Circuit:
        """A stored circuit; a value of the wrong type (another version's, or garbage) reads as its default."""
        fresh = cls()
        if not isinstance(data, dict):
            return fresh
        for name in cls.__slots__:
            value = data.get(name, getattr(fresh, name))
            if _fits(name, value):
                setattr(fresh, name, float(value) if isinstance(value, int) and name in _TIMES else value)
        return fresh


_TIMES = frozenset({"opened_at", "until", "probe_until", "window_start", "asked_until"})
_COUNTS = frozenset({"consecutive", "failures_at_open", "window_total", "window_failed"})


def _fits(name: str, value: Any) -> bool:
    if name == "state":
        return value in ("closed", "open", "half_open")
    if name == "last_kind":
        return value in ("network", "endpoint")
    if name == "last_error":
        return isinstance(value, str)
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if name in _COUNTS:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if name == "window_start":
        return number
    return value is None or number  # the optional times
