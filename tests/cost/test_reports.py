"""Report assembly: groupings, projection, empty ledgers, currencies, and the table's layout."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.commands.cost import run as run_cost
from relaycli.context import AppContext
from relaycli.cost.run import CostOptions
from relaycli.errors import UsageError
from relaycli.usage.periods import resolve_zone
from relaycli.usage.report import assemble, parse_by

from .support import CONFIG, Home

SHANGHAI = "Asia/Shanghai"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_parse_by() -> None:
    assert parse_by("month") == ("month",)
    assert parse_by(" Month, model ,profile") == ("month", "model", "profile")
    for bad in ("week", "day,month", "model,model", "", ","):
        with pytest.raises(UsageError):
            parse_by(bad)


def test_an_empty_report_has_zero_counts_and_no_currency() -> None:
    report = assemble([], by=("month",), zone=resolve_zone("UTC"), compare={})
    assert report.rows == () and report.totals.requests == 0 and report.totals.cost_usd == 0
    assert report.totals.billed is None and report.totals.currency is None


@pytest.fixture
def april(tmp_path: Path) -> Home:
    """Ten local days of April 2026 in Shanghai: one alpha-1 request a day on the relay profile."""
    home = Home(tmp_path / "home")
    for day in range(1, 11):
        when = datetime(2026, 4, day, 12, tzinfo=UTC)
        home.record(when, "relay", "alpha-1", 1_000, 100)
    home.record(datetime(2026, 3, 20, 12, tzinfo=UTC), "relay", "alpha-1", 5_000, 500)
    return home


def test_projection_is_linear_on_the_days_elapsed(april: Home) -> None:
    now = datetime(2026, 4, 10, 16, tzinfo=UTC)  # 11 April 00:00 in Shanghai: 10 days of 30 elapsed
    doc = april.cost_json(by="month", timezone=SHANGHAI, project=2, now=now)
    actual = next(r for r in doc["rows"] if r["period"] == "2026-04")
    p = doc["projection"]
    assert (p["month"], p["days_elapsed"], p["days_in_month"]) == ("2026-04", "10.00", 30)
    assert [r["period"] for r in p["rows"]] == ["2026-04", "2026-05"]
    april_row, may_row = p["rows"]
    assert april_row["requests"] == 30 and may_row["requests"] == 31
    assert Decimal(april_row["cost_usd"]) == Decimal(actual["cost_usd"]) * 3
    assert Decimal(may_row["billed"]) == Decimal(actual["billed"]) * Decimal("3.1")
    assert Decimal(may_row["savings"]) == Decimal(actual["savings"]) * Decimal("3.1")
    assert doc["totals"]["requests"] == 11  # the projection is not added to the actual totals
    out, err = april.cost(by="month", timezone=SHANGHAI, project=1, now=now)
    assert "2026-04 (projected)" in out and "projection: 2026-04 so far" in err and "estimates, not spend" in err


def test_projection_needs_months_and_the_current_month(april: Home) -> None:
    now = datetime(2026, 4, 10, 16, tzinfo=UTC)
    with pytest.raises(UsageError, match="--by month"):
        april.cost(by="day", timezone=SHANGHAI, project=1, now=now)
    with pytest.raises(UsageError, match="current month"):
        april.cost(by="month", timezone=SHANGHAI, month="2026-03", project=1, now=now)
    doc = april.cost_json(by="month,model", timezone=SHANGHAI, project=1, now=now)
    assert [(r["period"], r["model"], r["requests"]) for r in doc["projection"]["rows"]] == [("2026-04", "alpha-1", 30)]


def test_window_flags_are_checked(april: Home) -> None:
    for options, message in (
        (dict(month="2026-4"), "YYYY-MM"),
        (dict(since="2026-02-30"), "YYYY-MM-DD"),
        (dict(month="2026-04", since="2026-04-01"), "cannot be combined"),
        (dict(since="2026-04-05", until="2026-04-01"), "after"),
        (dict(currency="yuan"), "3-letter"),
        (dict(timezone="Mars/Base"), "time zone"),
    ):
        with pytest.raises(UsageError, match=message):
            april.cost(**options)  # type: ignore[arg-type]


def test_default_time_zone_is_the_local_one(april: Home) -> None:
    assert april.cost_json(env={"TZ": SHANGHAI})["timezone"] == SHANGHAI
    doc = april.cost_json(env={"TZ": "America/Los_Angeles"}, by="day")
    assert doc["rows"][1]["period"] == "2026-04-01"  # 12:00 UTC is 05:00 in Los Angeles


def test_compare_to_in_another_currency_gives_no_savings(tmp_path: Path) -> None:
    home = Home(tmp_path / "home", CONFIG.replace('compare_to = { currency = "CNY"', 'compare_to = { currency = "USD"'))
    home.record(datetime(2026, 4, 1, tzinfo=UTC), "relay", "alpha-1", 1_000, 100)
    doc = home.cost_json(timezone="UTC")
    assert doc["rows"][0]["direct_billed"] is None and doc["rows"][0]["savings"] is None
    assert "compare_to is in USD" in doc["notes"][0]


def test_empty_and_missing_ledgers_say_there_is_nothing_yet(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    out, err = home.cost()
    assert out == "" and "no requests recorded yet" in err and not (home.path / "ledger.db").exists()
    assert home.cost_json()["rows"] == []
    csv_text, _ = home.cost(output="csv")
    assert csv_text.splitlines()[0].startswith("type,period,requests")
    home.record(datetime(2026, 4, 1, tzinfo=UTC), "relay", "alpha-1", 1_000, 100, tag="bench")
    out, err = home.cost()
    assert out == "" and "no requests match this selection (`relay bench` requests are left out" in err
    assert home.cost_json(include_bench=True)["totals"]["requests"] == 1
    out, err = home.cost(profiles=("direct",))
    assert "no requests match" in err


def _visible(text: str) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip() for line in text.splitlines()]


def test_compact_table_fits_80_columns_and_full_table_is_never_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    home = Home(tmp_path / "home")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(40):
        model = ("claude-sonnet-4-5-20250929-extended-thinking", "alpha-1", "beta-2")[n % 3]
        home.record(start + timedelta(days=n), ("relay", "card")[n % 2], model, 123_456_789, 9_876_543, 1_000_000)
    now = datetime(2026, 4, 9, tzinfo=UTC)
    for by in ("month", "month,model", "day,model,profile"):
        out = Terminal()
        ctx = AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=io.StringIO())
        run_cost(ctx, CostOptions(by=by, compact=True, project=1 if "month" in by else 0), now=now)
        lines = _visible(out.getvalue())
        assert max(map(len, lines)) <= 80, (by, max(lines, key=len))
        assert any("$" in line and "¥" in line for line in lines)
        assert any(line.startswith("total") for line in lines)
    out, err = Terminal(), io.StringIO()
    run_cost(AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=err), CostOptions(by="month,model"))
    lines = _visible(out.getvalue())
    assert max(map(len, lines)) > 80 and "…" not in out.getvalue() and "--compact" in err.getvalue()
    header = next(line for line in lines if line.startswith("month"))
    assert header.index("cost (USD)") > header.index("output")
    row = next(line for line in lines if line.startswith("2026-03") and "alpha-1" in line)
    assert re.search(r"\d{3},\d{3},\d{3}", row)  # thousands separators
    end = header.index("requests") + len("requests")  # right-aligned under its header
    assert row[end - 1] == "5" and row[end - 2] == " " and row.rstrip().endswith("¥10,219.42")


def test_local_days_for_a_day_report_cover_the_data(april: Home) -> None:
    doc = april.cost_json(by="day", timezone=SHANGHAI)
    assert doc["from"] == "2026-03-20" and doc["to"] == "2026-04-10"
    assert [r["period"] for r in doc["rows"]][:2] == ["2026-03-20", "2026-04-01"]
    assert date.fromisoformat(doc["rows"][-1]["period"]) == date(2026, 4, 10)
