"""Token-bucket arithmetic, pure: a bucket holds up to ``capacity`` tokens and refills ``rate`` a second.

A request takes its cost (1 for requests, the estimated tokens for tokens); when there is not enough, it
waits for the refill. A cost larger than the whole bucket is let through once the bucket is full (it would
wait forever otherwise), leaving a debt that later requests wait out.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Bucket"]


@dataclass(slots=True)
class Bucket:
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

    def wait_s(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` can be taken (0: now)."""
        self.refill(now)
        need = min(cost, self.capacity)
        if self.tokens >= need:
            return 0.0
        return (need - self.tokens) / self.rate

    def take(self, cost: float, now: float) -> None:
        self.refill(now)
        self.tokens -= cost

    def give_back(self, amount: float) -> None:
        """Return (or, negative, charge more of) an estimate once the real cost is known."""
        self.tokens = min(self.capacity, self.tokens + amount)

    def at_most(self, tokens: float, now: float) -> None:
        """The server says only this many are left: believe it when it is fewer than the bucket holds."""
        self.refill(now)
        self.tokens = min(self.tokens, tokens)

    def retune(self, capacity: float, rate: float) -> None:
        """The profile's settings changed: keep the level, within the new capacity."""
        self.capacity, self.rate = capacity, rate
        self.tokens = min(self.tokens, capacity)
