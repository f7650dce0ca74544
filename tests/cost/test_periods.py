"""Local days and months as UTC ranges, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from relaycli.errors import UsageError
from relaycli.usage.periods import day_ranges, local_zone, month_range, parse_day, parse_month, resolve_zone, timestamp


def test_days_are_23_or_25_hours_long_across_dst() -> None:
    berlin = resolve_zone("Europe/Berlin")
    ranges = day_ranges(berlin, date(2026, 3, 28), date(2026, 3, 30))
    assert ranges == [
        (date(2026, 3, 28), "2026-03-27T23:00:00.000Z", "2026-03-28T23:00:00.000Z"),
        (date(2026, 3, 29), "2026-03-28T23:00:00.000Z", "2026-03-29T22:00:00.000Z"),  # 23 hours
        (date(2026, 3, 30), "2026-03-29T22:00:00.000Z", "2026-03-30T22:00:00.000Z"),
    ]
    (autumn,) = day_ranges(berlin, date(2026, 10, 25), date(2026, 10, 25))
    assert autumn[1:] == ("2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z")  # 25 hours


def test_a_skipped_day_and_a_missing_midnight() -> None:
    samoa = resolve_zone("Pacific/Apia")  # skipped 30 December 2011
    days = [d for d, _, _ in day_ranges(samoa, date(2011, 12, 29), date(2011, 12, 31))]
    assert days == [date(2011, 12, 29), date(2011, 12, 31)]
    santiago = resolve_zone("America/Santiago")  # clocks jump from 00:00 to 01:00 on 2026-09-06
    (day,) = day_ranges(santiago, date(2026, 9, 6), date(2026, 9, 6))
    assert day[1] == "2026-09-06T04:00:00.000Z"


def test_months_and_timestamps() -> None:
    assert month_range(resolve_zone("Asia/Shanghai"), date(2026, 12, 1)) == (
        "2026-11-30T16:00:00.000Z",
        "2026-12-31T16:00:00.000Z",
    )
    assert timestamp(datetime(2026, 1, 2, 3, 4, 5, 678_999, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


def test_zone_names_and_the_local_zone() -> None:
    assert resolve_zone("utc").name == "UTC" and resolve_zone(None, {"TZ": "Asia/Tokyo"}).name == "Asia/Tokyo"
    assert local_zone({"TZ": ":Europe/Paris"}).name == "Europe/Paris"
    assert local_zone({"TZ": "Not/AZone"}).name  # falls back to the system's zone
    with pytest.raises(UsageError, match="unknown time zone"):
        resolve_zone("Not/AZone")


def test_parse_errors_are_usage_errors() -> None:
    assert parse_month("2026-02") == date(2026, 2, 1) and parse_day("2026-02-28", "--since") == date(2026, 2, 28)
    for text in ("2026-13", "26-01", "2026-1", "2026-01-01"):
        with pytest.raises(UsageError):
            parse_month(text)
    for text in ("2026-02-30", "2026/02/01", "yesterday"):
        with pytest.raises(UsageError):
            parse_day(text, "--until")
