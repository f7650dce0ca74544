"""Seeded latency distributions for the local relay (``ttft_dist``, ``token_delay_dist``).

A spec is ``NAME:ARG[:ARG]`` in seconds; colons, because the directive syntax splits on commas::

    fixed:0.05          always 50 ms
    uniform:0.02:0.08   uniform between 20 and 80 ms
    normal:0.05:0.01    mean 50 ms, standard deviation 10 ms, clipped at 0
    lognormal:0.04:0.5  median 40 ms, sigma 0.5 (of the log): a long right tail, like real TTFTs
    exp:0.01            exponential with mean 10 ms

Draws come from a ``random.Random`` the server seeds with ``dist_seed``, in the order requests arrive, so a
run is reproducible up to that order; the server's log records what each request actually got.
Standard library only.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

_ARITY = {"fixed": 1, "uniform": 2, "normal": 2, "lognormal": 2, "exp": 1}
NAMES: tuple[str, ...] = tuple(_ARITY)


@dataclass(frozen=True, slots=True)
class Dist:
    name: str
    a: float
    b: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.name == "fixed":
            return self.a
        if self.name == "uniform":
            return rng.uniform(self.a, self.b)
        if self.name == "normal":
            return max(0.0, rng.gauss(self.a, self.b))
        if self.name == "lognormal":
            return self.a * math.exp(rng.gauss(0.0, self.b))
        return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0  # exp


@lru_cache(maxsize=64)
def parse(spec: str) -> Dist:
    """``"lognormal:0.04:0.5"`` -> ``Dist``; ``ValueError`` naming the problem otherwise."""
    name, *args = spec.strip().lower().split(":")
    if name not in _ARITY:
        raise ValueError(f"unknown distribution {name!r} (known: {', '.join(NAMES)})")
    if len(args) != _ARITY[name]:
        raise ValueError(
            f"distribution {name!r} takes {_ARITY[name]} number(s): {name}:" + ":".join(["X"] * _ARITY[name])
        )
    try:
        values = [float(a) for a in args]
    except ValueError:
        raise ValueError(f"distribution {spec!r}: arguments must be numbers (seconds)") from None
    if any(v < 0 or not math.isfinite(v) for v in values):
        raise ValueError(f"distribution {spec!r}: arguments must be finite and >= 0")
    if name == "uniform" and values[1] < values[0]:
        raise ValueError(f"distribution {spec!r}: uniform needs LOW <= HIGH")
    return Dist(name, *values)


def schedule(
    n: int, *, ttft: float, delay: float, ttft_dist: Dist | None, delay_dist: Dist | None, rng: random.Random
) -> tuple[float, ...]:
    """Offsets (seconds after the request arrived) at which tokens 0..n are due; offset n is where the
    stream's ending (or a ``*_after`` knob at n) is due: one more gap after the last token."""
    first = ttft_dist.sample(rng) if ttft_dist is not None else ttft
    offsets = [first]
    for _ in range(n):
        offsets.append(offsets[-1] + (delay_dist.sample(rng) if delay_dist is not None else delay))
    return tuple(offsets)
