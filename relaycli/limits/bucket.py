"""Token-bucket arithmetic, pure: a bucket holds up to ``capacity`` tokens and refills ``rate`` a second.

A request takes its cost (1 for requests, the estimated tokens for tokens); when there is not enough, it
waits for the refill. A cost larger than the whole bucket is let through once the bucket is full (it would
wait forever otherwise), leaving a debt that later requests wait out.

``reserve`` keeps a little in hand: a request leaves at least that much behind, which shifts the whole
schedule by ``reserve / rate`` seconds once and costs no throughput. It covers the time a request takes to
reach the server: the server's own bucket, counting arrivals, starts refilling a little later than ours.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Bucket"]


@dataclass(slots=True)
class Bucket:
    """A token bucket that refills continuously up to its capacity."""

    capacity: float
    rate: float  # tokens per second
    tokens: float
    updated: float  # Unix time of ``tokens``

    @classmethod
    def full(cls, capacity: float, rate: float, now: float) -> Bucket:
        return cls(capacity=capacity, rate=rate, tokens=capacity, updated=now)

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def level(self, now: float) -> float:
        """What the bucket holds at ``now``, without changing it."""
        if now <= self.updated:
            return self.tokens
        return min(self.capacity, self.tokens + (now - self.updated) * self.rate)

    def wait_s(self, cost: float, now: float, *, reserve: float = 0.0) -> float:
        """Seconds until ``cost`` can be taken leaving ``reserve`` behind (0: now)."""
        self.refill(now)
        need = min(cost + reserve, self.capacity)
        if self.tokens >= need:
            return 0.0
        if self.rate <= 0:
            return float("inf")
        wait = (need - self.tokens) / self.rate
        return wait if wait > 1e-6 else 0.0  # what a float sum of refills leaves over is no wait

    def take(self, cost: float, now: float) -> None:
        self.refill(now)
        self.tokens -= cost

    def give_back(self, amount: float) -> None:
        """Return (or, negative, charge more of) an estimate once the real cost is known."""
        self.tokens = min(self.capacity, self.tokens + amount)

    def at_most(self, remaining: float, now: float) -> None:
        """The server says ``remaining`` are left. Servers report whole numbers (their level rounded down),
        so only a level a whole token or more above it is lowered: anything below ``remaining + 1`` may be
        exactly what the server holds, and lowering it would lose the fraction on every response."""
        self.refill(now)
        if self.tokens >= remaining + 1:
            self.tokens = float(remaining)

    def retune(self, capacity: float, rate: float) -> None:
        """The profile's settings changed: keep the level, within the new capacity."""
        self.capacity, self.rate = capacity, rate
        self.tokens = min(self.tokens, capacity)
