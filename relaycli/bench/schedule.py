"""What a benchmark sends and when: the jobs (rounds of one request per target in a seeded shuffled order),
the load settings, and seeded Poisson arrival times for the open loop. Pure: no I/O, no clock."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Job", "Load", "arrivals", "measured_jobs"]


@dataclass(frozen=True, slots=True)
class Job:
    """One request to send: ``seq`` picks the prompt, the same for every target."""

    target: int
    seq: int
    warmup: bool = False


@dataclass(frozen=True, slots=True)
class Load:
    concurrency: int = 1  # closed loop: requests in flight; open loop: the most in flight (client queue beyond)
    rate: float | None = None  # requests per second (all targets together): open loop
    n: int | None = 50  # measured requests per target; None: until the duration ends
    duration_s: float | None = None
    warmup: int = 1  # warm-up requests per target, excluded from the statistics
    seed: int = 0
    preconnect: bool = True


def measured_jobs(n_targets: int, n: int | None, seed: int) -> Iterator[Job]:
    """Rounds of one request per target, each round in a shuffled order (seeded): drift over time hits
    every target alike, and request ``seq`` carries the same prompt for all of them."""
    rng = random.Random(f"order:{seed}")
    seq = 0
    while n is None or seq < n:
        order = list(range(n_targets))
        rng.shuffle(order)
        for target in order:
            yield Job(target, seq)
        seq += 1


def arrivals(rate: float, seed: int) -> Iterator[float]:
    """Poisson arrival times in seconds from the start: exponential gaps of mean 1/rate (seeded)."""
    rng = random.Random(f"arrivals:{seed}")
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        yield t
