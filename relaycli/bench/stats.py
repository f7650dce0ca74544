"""Statistics for ``relay bench``. Pure, standard library only, deterministic given a seeded RNG.

- Percentiles interpolate linearly between order statistics: NumPy's default ("linear"), Hyndman & Fan
  type 7, as vLLM, genai-perf, llmperf and k6 use (not ``statistics.quantiles``' default method).
- p95 is flagged unreliable below n = 72 and p99 below n = 367: below those even the sample maximum is
  not a 97.5 % upper confidence bound for the quantile (1 - q**n < 0.975).
- Differences between two targets at a quantile get a percentile-bootstrap 95 % confidence interval.
  Each replicate draws the resample's two order statistics around the quantile directly: the k-th
  smallest of n uniforms is Beta(k, n - k + 1), the next one lies above it at u + (1 - u) Beta(1, n - k),
  and the empirical quantile function maps them to values. That is exactly the distribution resampling
  with replacement and sorting gives, at O(1) instead of O(n log n) per replicate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

P95_MIN_N = 72
P99_MIN_N = 367
QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99))
COMPARED: tuple[tuple[str, float], ...] = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
MIN_N = {"p95": P95_MIN_N, "p99": P99_MIN_N}


def percentile(ordered: Sequence[float], q: float) -> float:
    """Type 7: ``x[h]`` interpolated, ``h = (n - 1) q`` (0-based). ``ordered`` must be sorted, non-empty."""
    n = len(ordered)
    if n == 0:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    h = (n - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


def reliable(name: str, n: int) -> bool:
    return n >= MIN_N.get(name, 1)


def summarize(values: Sequence[float]) -> dict[str, float | int | bool | None]:
    """``{"n", "mean", "min", "p50", "p90", "p95", "p99", "max", "p95_reliable", "p99_reliable"}``;
    every number is ``None`` when there are no values."""
    ordered = sorted(values)
    n = len(ordered)
    out: dict[str, float | int | bool | None] = {"n": n}
    if n == 0:
        out.update(mean=None, min=None, **{name: None for name, _ in QUANTILES}, max=None)
    else:
        out["mean"] = math.fsum(ordered) / n
        out["min"] = ordered[0]
        for name, q in QUANTILES:
            out[name] = percentile(ordered, q)
        out["max"] = ordered[-1]
    out["p95_reliable"] = reliable("p95", n)
    out["p99_reliable"] = reliable("p99", n)
    return out


def _order_stat_pair(n: int, k: int, rng: random.Random) -> tuple[float, float]:
    """Uniform order statistics U(k) and U(k+1) (1-based k, k < n) of n draws; U(k+1) = U(k) if k = n."""
    u = rng.betavariate(k, n - k + 1)
    if k >= n:
        return u, u
    return u, u + (1.0 - u) * rng.betavariate(1, n - k)


def _at(ordered: Sequence[float], u: float) -> float:
    """The empirical quantile function: the smallest x with F(x) >= u."""
    n = len(ordered)
    return ordered[min(max(math.ceil(u * n) - 1, 0), n - 1)]


def bootstrap_quantile(ordered: Sequence[float], q: float, reps: int, rng: random.Random) -> list[float]:
    """``reps`` bootstrap replicates of the type-7 ``q`` quantile of ``ordered`` (sorted)."""
    n = len(ordered)
    h = (n - 1) * q
    lo = math.floor(h)
    frac = h - lo
    k = lo + 1  # 1-based index of the lower order statistic
    out = []
    for _ in range(reps):
        if n == 1:
            out.append(ordered[0])
            continue
        u1, u2 = _order_stat_pair(n, k, rng)
        a = _at(ordered, u1)
        out.append(a if frac == 0.0 else a + frac * (_at(ordered, u2) - a))
    return out


def resample_quantile(values: Sequence[float], q: float, reps: int, rng: random.Random) -> list[float]:
    """The same replicates the slow way (resample with replacement, sort); kept for tests."""
    out = []
    for _ in range(reps):
        out.append(percentile(sorted(rng.choices(values, k=len(values))), q))
    return out


@dataclass(frozen=True, slots=True)
class Difference:
    """``value(other) - value(base)`` at one quantile, with a 95 % bootstrap interval."""

    quantile: str
    base: float
    other: float
    diff: float
    low: float
    high: float
    n_base: int
    n_other: int

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def reliable(self) -> bool:
        return reliable(self.quantile, min(self.n_base, self.n_other))

    @property
    def change(self) -> float | None:
        """Relative change of ``other`` over ``base`` (``-0.25``: 25 % lower)."""
        return None if self.base == 0 else self.diff / self.base


def difference(
    base: Sequence[float], other: Sequence[float], name: str, q: float, *, reps: int = 2000, rng: random.Random
) -> Difference | None:
    """The difference at quantile ``q`` with a percentile-bootstrap 95 % CI; ``None`` if a side is empty."""
    a, b = sorted(base), sorted(other)
    if not a or not b:
        return None
    diffs = sorted(
        y - x for x, y in zip(bootstrap_quantile(a, q, reps, rng), bootstrap_quantile(b, q, reps, rng), strict=True)
    )
    return Difference(
        name,
        percentile(a, q),
        percentile(b, q),
        percentile(b, q) - percentile(a, q),
        percentile(diffs, 0.025),
        percentile(diffs, 0.975),
        len(a),
        len(b),
    )


def fmt(value: float | None, unit: str = "ms") -> str:
    """3 significant-ish figures: 1234 / 123 / 12.3 / 1.23 / 0.123."""
    if value is None or math.isnan(value):
        return "-"
    mag = abs(value)
    text = (
        f"{value:.0f}"
        if mag >= 100
        else f"{value:.1f}"
        if mag >= 10
        else f"{value:.2f}"
        if mag >= 1
        else f"{value:.3f}"
    )
    return f"{text} {unit}".rstrip() if unit else text


def verdict(
    d: Difference, *, metric: str, base: str, other: str, unit: str = "ms", higher_is_better: bool = False
) -> str:
    """One sentence a person can read, e.g. "relay is 95 ms faster at TTFT p50 [88, 101]"."""
    n = min(d.n_base, d.n_other)
    if not d.significant:
        text = (
            f"the {metric} {d.quantile} difference between {other} and {base} is not significant with "
            f"n = {n} ({'+' if d.diff >= 0 else ''}{fmt(d.diff, unit)} [{fmt(d.low, '')}, {fmt(d.high, '')}])"
        )
    else:
        better = d.diff > 0 if higher_is_better else d.diff < 0
        word = ("faster" if better else "slower") if unit == "ms" else "higher" if d.diff > 0 else "lower"
        lo, hi = (d.low, d.high) if d.diff > 0 else (-d.high, -d.low)
        text = (
            f"{other} is {fmt(abs(d.diff), unit)} {word} than {base} at {metric} {d.quantile} "
            f"[{fmt(lo, '')}, {fmt(hi, '')}]"
        )
    if not d.reliable:
        text += f" ({d.quantile} is unreliable below n = {MIN_N[d.quantile]})"
    return text
