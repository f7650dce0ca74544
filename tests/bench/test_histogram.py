"""`relay bench --histogram`: every bin's label is distinct, however narrow the spread."""

from __future__ import annotations

import re

from relaycli.bench.report import text_histogram
from tests.conftest import run_relay


def labels(lines: list[str]) -> list[str]:
    return [line.split("|")[0].strip() for line in lines]


def test_narrow_bins_get_enough_decimals() -> None:
    lines = text_histogram([141.1 + i * 0.005 for i in range(120)])  # a 0.6 ms spread at 141 ms
    bins = [label for label in labels(lines) if not label.startswith(">")]
    assert len(bins) == 12 and len(set(bins)) == 12
    for label in bins:
        left, right = label.removesuffix(" ms").split(" - ")
        assert left.strip() != right.strip(), label
    assert bins[0].startswith("141.10 -")


def test_wide_bins_keep_short_labels_and_equal_values_one_bar() -> None:
    lines = text_histogram([float(v) for v in range(100, 2100, 10)], bins=4)
    assert re.fullmatch(r"100 - +\d+ ms", labels(lines)[0])  # no decimals where none are needed
    (same,) = text_histogram([5.0, 5.0, 5.0])
    assert same.endswith("#" * 40 + " 3") and "5.00" in same


def test_histogram_labels_through_the_cli(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-p", "mock", "-n", "12", "--histogram", env=relay_env)
    assert ran.code == 0, ran.err
    bins = [line.split("|")[0].strip() for line in ran.out.splitlines() if " ms | " in line and " - " in line]
    assert bins and len(set(bins)) == len(bins)
    assert all(b.split(" - ")[0].strip() != b.split(" - ")[1].removesuffix(" ms").strip() for b in bins)
