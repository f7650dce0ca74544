"""Percentiles (type 7), summaries, the order-statistic bootstrap and verdicts, against hand-computed values."""

from __future__ import annotations

import random
import statistics

import pytest

from relaycli.bench.stats import (
    Difference,
    bootstrap_quantile,
    difference,
    fmt,
    percentile,
    resample_quantile,
    summarize,
    verdict,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1, 2, 3, 4], 0.5, 2.5),  # h = 1.5
        ([1, 2, 3, 4], 0.25, 1.75),  # h = 0.75
        ([1, 2, 3, 4], 0.9, 3.7),  # h = 2.7
        ([15, 20, 35, 40, 50], 0.4, 29.0),  # h = 1.6: 20 + 0.6 * 15 (NumPy's documented example)
        ([15, 20, 35, 40, 50], 0.99, 49.6),  # h = 3.96: 40 + 0.96 * 10
        ([7], 0.99, 7.0),
        ([3, 9], 0.0, 3.0),
        ([3, 9], 1.0, 9.0),
        ([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.95, 95.5),  # h = 8.55
    ],
)
def test_percentile_is_type_7(values: list[float], q: float, expected: float) -> None:
    assert percentile(sorted(values), q) == pytest.approx(expected)


def test_percentile_matches_the_inclusive_method_not_the_default() -> None:
    data = [2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0]
    inclusive = statistics.quantiles(data, n=100, method="inclusive")
    assert [percentile(data, k / 100) for k in range(1, 100)] == pytest.approx(inclusive)
    assert percentile([1, 2, 3, 4], 0.25) != statistics.quantiles([1, 2, 3, 4], n=4)[0]  # 1.75 vs 1.25


def test_percentile_rejects_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_summarize_values_and_reliability_flags() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s == {
        "n": 4,
        "mean": 2.5,
        "min": 1.0,
        "p50": 2.5,
        "p90": pytest.approx(3.7),
        "p95": pytest.approx(3.85),
        "p99": pytest.approx(3.97),
        "max": 4.0,
        "p95_reliable": False,
        "p99_reliable": False,
    }
    assert summarize([1.0] * 71)["p95_reliable"] is False
    assert summarize([1.0] * 72)["p95_reliable"] is True
    assert summarize([1.0] * 366)["p99_reliable"] is False
    assert summarize([1.0] * 367)["p99_reliable"] is True
    empty = summarize([])
    assert empty["n"] == 0 and empty["p50"] is None and empty["mean"] is None


def test_order_statistic_bootstrap_matches_resampling() -> None:
    rng = random.Random(3)
    values = [rng.lognormvariate(3, 0.6) for _ in range(40)]
    ordered = sorted(values)
    for q in (0.5, 0.9, 0.99):
        fast = sorted(bootstrap_quantile(ordered, q, 20000, random.Random(1)))
        slow = sorted(resample_quantile(values, q, 20000, random.Random(2)))
        for p in (0.025, 0.25, 0.5, 0.75, 0.975):
            spread = ordered[-1] - ordered[0]
            assert percentile(fast, p) == pytest.approx(percentile(slow, p), abs=0.03 * spread), (q, p)


def test_difference_of_shifted_samples_is_significant_and_seeded() -> None:
    rng = random.Random(5)
    base = [100 + rng.gauss(0, 5) for _ in range(300)]
    other = [v - 20 for v in base]
    d = difference(base, other, "p50", 0.5, rng=random.Random(9))
    assert d is not None and d.diff == pytest.approx(-20) and d.significant
    assert d.low < -20 < d.high or d.low == pytest.approx(-20)
    again = difference(base, other, "p50", 0.5, rng=random.Random(9))
    assert again == d


def test_difference_of_identical_samples_is_not_significant() -> None:
    rng = random.Random(6)
    values = [rng.expovariate(0.1) for _ in range(200)]
    d = difference(values, list(values), "p95", 0.95, rng=random.Random(1))
    assert d is not None and d.diff == 0 and d.low < 0 < d.high and not d.significant
    assert difference([], values, "p50", 0.5, rng=random.Random(1)) is None


def test_verdicts_read_like_sentences() -> None:
    faster = Difference("p50", base=200.0, other=105.0, diff=-95.0, low=-101.0, high=-88.0, n_base=400, n_other=400)
    assert (
        verdict(faster, metric="TTFT", base="direct", other="relay")
        == "relay is 95.0 ms faster than direct at TTFT p50 [88.0, 101]"
    )
    slower = Difference("p95", base=200.0, other=230.0, diff=30.0, low=12.0, high=41.0, n_base=80, n_other=90)
    assert (
        verdict(slower, metric="latency", base="direct", other="relay")
        == "relay is 30.0 ms slower than direct at latency p95 [12.0, 41.0]"
    )
    unclear = Difference("p99", base=500.0, other=503.0, diff=3.0, low=-5.0, high=12.0, n_base=200, n_other=200)
    assert verdict(unclear, metric="TTFT", base="direct", other="relay") == (
        "the TTFT p99 difference between relay and direct is not significant with n = 200 (+3.00 ms [-5.00, 12.0])"
        " (p99 is unreliable below n = 367)"
    )
    tokens = Difference("p50", base=50.0, other=80.0, diff=30.0, low=25.0, high=35.0, n_base=100, n_other=100)
    assert (
        verdict(tokens, metric="output tokens/s", base="a", other="b", unit="tok/s", higher_is_better=True)
        == "b is 30.0 tok/s higher than a at output tokens/s p50 [25.0, 35.0]"
    )
    assert (fmt(1234.5), fmt(12.345), fmt(1.2345), fmt(0.12345), fmt(None)) == (
        "1234 ms",
        "12.3 ms",
        "1.23 ms",
        "0.123 ms",
        "-",
    )
