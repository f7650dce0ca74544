"""Every figure of `relay cost --json` and `--csv` against an independent calculation.

Requests with known token counts go through the real recording path (``build_row`` + ``Ledger.record``);
the expected figures are computed here from the token counts and the configured prices with Fractions,
and local days with ``zoneinfo`` directly.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from .support import Home

# USD per 1M tokens: input, output, cached input, cache write (None: billed as input). From support.CONFIG.
PRICES = {
    "alpha-1": (Fraction(2), Fraction(8), Fraction(1, 2), None),
    "beta-2": (Fraction(3), Fraction(15), Fraction(3, 10), Fraction(15, 4)),
}
PER_USD = {"relay": Fraction(1), "direct": Fraction(73, 10), "card": Fraction(1)}
CURRENCY = {"relay": "CNY", "direct": "CNY", "card": "USD"}
COMPARE = {"relay": Fraction(73, 10)}  # compare_to per_usd, same currency as billing


@dataclass(frozen=True)
class Req:
    utc: str
    profile: str
    model: str
    prompt: int | None
    completion: int | None
    cached: int = 0
    written: int = 0
    outcome: str = "ok"
    failed: bool = False
    tag: str | None = None

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.utc.replace("Z", "+00:00"))

    @property
    def cost(self) -> Fraction | None:
        if self.model not in PRICES or self.prompt is None or self.completion is None:
            return None
        inp, out, cached, write = PRICES[self.model]
        uncached = self.prompt - self.cached - self.written
        return (uncached * inp + self.cached * cached + self.written * (write or inp) + self.completion * out) / 10**6

    @property
    def unpriced(self) -> bool:
        return self.cost is None and not self.failed


REQUESTS = [
    Req("2026-01-15T10:00:00.000Z", "relay", "alpha-1", 10_000, 500, cached=4_000),
    Req("2026-01-31T20:00:00.000Z", "direct", "beta-2", 2_500, 640),  # Shanghai: 1 Feb, 04:00
    Req("2026-02-03T08:00:00.000Z", "relay", "beta-2", 20_000, 1_000, cached=5_000, written=2_000),
    Req("2026-02-03T09:00:00.000Z", "direct", "alpha-1", 3_000, 700),
    Req("2026-02-28T17:30:00.000Z", "card", "beta-2", 1_000, 100),  # Shanghai: 1 March
    Req("2026-03-09T04:30:00.000Z", "relay", "alpha-1", 1_234, 567, cached=200),  # New York (EDT): 9 March
    Req("2026-03-31T15:30:00.000Z", "direct", "beta-2", 50_000, 2_000, cached=30_000),  # Shanghai 23:30
    Req("2026-03-31T16:30:00.000Z", "relay", "beta-2", 8_000, 900, written=1_000),  # Shanghai: 1 April 00:30
    Req("2026-04-02T12:00:00.000Z", "relay", "zz-house-unpriced", 5_000, 300),  # no price
    Req("2026-04-02T12:05:00.000Z", "relay", "alpha-1", None, None),  # usage unknown
    Req("2026-04-02T12:10:00.000Z", "relay", "alpha-1", None, None, failed=True),  # refused: costs nothing
    Req("2026-04-02T12:15:00.000Z", "card", "alpha-1", 900, 50, outcome="truncated"),
    Req("2026-04-03T01:00:00.000Z", "relay", "alpha-1", 100, 10, tag="bench"),
    Req("2026-04-03T02:00:00.000Z", "card", "zz-house-unpriced", 10, 10),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home(tmp_path_factory.mktemp("ground") / "home")
    assert home.prices.lookup("zz-house-unpriced") is None
    for r in REQUESTS:
        home.record(
            r.moment,
            r.profile,
            r.model,
            r.prompt,
            r.completion,
            r.cached,
            r.written,
            outcome=r.outcome,
            failed=r.failed,
            tag=r.tag,
        )
    return home


def _period(r: Req, by: str, zone: str) -> str:
    local = r.moment.astimezone(ZoneInfo(zone)).date()
    return local.isoformat() if by == "day" else local.strftime("%Y-%m")


def expected(
    by: tuple[str, ...], zone: str = "UTC", *, include_bench: bool = False, currency: str | None = None
) -> tuple[dict[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """Rows keyed by (key values..., currency), and the totals, from first principles."""
    chosen = [
        r
        for r in REQUESTS
        if (include_bench or r.tag != "bench") and (currency is None or CURRENCY[r.profile] == currency)
    ]

    def key(r: Req) -> tuple[Any, ...]:
        parts: list[str] = []
        for d in by:
            parts.append(_period(r, d, zone) if d in ("day", "month") else getattr(r, d))
        return (*parts, CURRENCY[r.profile])

    groups: dict[tuple[Any, ...], list[Req]] = defaultdict(list)
    for r in chosen:
        groups[key(r)].append(r)
    return {k: _figures(rs) for k, rs in groups.items()}, _figures(chosen)


def _unknown(rs: list[Req], name: str) -> list[Req]:
    """The requests that should have reported a count and did not (a refused one had nothing to report)."""
    free = [r for r in rs if (r.failed or r.outcome == "error") and r.prompt is None and r.completion is None]
    return [r for r in rs if getattr(r, name) is None and r not in free]


def _tokens(rs: list[Req], name: str) -> int | None:
    """The sum, or None when no request reported the count and some should have."""
    if _unknown(rs, name) and all(getattr(r, name) is None for r in rs):
        return None
    return sum(getattr(r, name) or 0 for r in rs)


def _figures(rs: list[Req]) -> dict[str, Any]:
    priced = [r for r in rs if r.cost is not None]
    unpriced = [r for r in rs if r.unpriced]
    known = not (unpriced and not priced)
    cost = sum((r.cost for r in priced), Fraction(0)) if known else None  # type: ignore[misc]
    billed = sum((r.cost * PER_USD[r.profile] for r in priced), Fraction(0)) if known else None  # type: ignore[operator]
    compared = [r for r in rs if r.profile in COMPARE and not r.unpriced]
    direct = None
    if compared and billed is not None:
        direct = sum(
            (r.cost * COMPARE[r.profile] if r.profile in COMPARE else r.cost * PER_USD[r.profile] for r in priced),
            Fraction(0),
        )  # type: ignore[operator]
    currencies = {CURRENCY[r.profile] for r in rs}
    return {
        "requests": len(rs),
        "errors": sum(r.outcome != "ok" or r.failed for r in rs),
        "prompt_tokens": _tokens(rs, "prompt"),
        "completion_tokens": _tokens(rs, "completion"),
        "prompt_tokens_unknown": len(_unknown(rs, "prompt")),
        "completion_tokens_unknown": len(_unknown(rs, "completion")),
        # cache reads are part of the input: unknown when the input is
        "cached_tokens": None if _tokens(rs, "prompt") is None else sum(r.cached for r in rs),
        "cache_write_tokens": None if _tokens(rs, "prompt") is None else sum(r.written for r in rs),
        "cost_usd": cost,
        "billed": billed if len(currencies) == 1 else None,
        "direct_billed": direct if len(currencies) == 1 else None,
        "savings": None if direct is None or billed is None or len(currencies) != 1 else direct - billed,
        "unpriced_requests": len(unpriced),
        "currency": currencies.pop() if len(currencies) == 1 else None,
    }


def _same(actual: dict[str, Any], wanted: dict[str, Any], where: str) -> None:
    for name, value in wanted.items():
        got = actual[name]
        if isinstance(value, Fraction):
            assert got is not None and Fraction(Decimal(got)) == value, (where, name, got, value)
        else:
            assert got == value, (where, name, got, value)


def _check(
    doc: dict[str, Any], by: tuple[str, ...], rows: dict[tuple[Any, ...], dict[str, Any]], totals: dict[str, Any]
) -> None:
    names = ["period" if d in ("day", "month") else d for d in by]
    seen = {}
    for row in doc["rows"]:
        seen[(*(row[n] for n in names), row["currency"])] = row
    assert set(seen) == set(rows)
    for k, wanted in rows.items():
        _same(seen[k], wanted, str(k))
    _same(doc["totals"], totals, "totals")


@pytest.mark.parametrize(
    ("by", "zone"),
    [
        (("month",), "UTC"),
        (("month",), "Asia/Shanghai"),
        (("day",), "America/New_York"),
        (("day",), "Asia/Shanghai"),
        (("model", "profile"), "UTC"),
        (("month", "model"), "Asia/Shanghai"),
        (("profile",), "UTC"),
    ],
)
def test_every_figure_matches_an_independent_calculation(home: Home, by: tuple[str, ...], zone: str) -> None:
    doc = home.cost_json(by=",".join(by), timezone=zone)
    rows, totals = expected(by, zone)
    _check(doc, by, rows, totals)
    per_currency = {t["currency"]: t for t in doc["totals_by_currency"]}
    for code in ("CNY", "USD"):
        _same(per_currency[code], expected(by, zone, currency=code)[1], code)
    assert doc["timezone"] == zone and doc["currencies"] == ["CNY", "USD"]


def test_the_day_boundary_follows_the_time_zone(home: Home) -> None:
    utc = {(r["period"], r["currency"]): r for r in home.cost_json(by="month", timezone="UTC")["rows"]}
    shanghai = {(r["period"], r["currency"]): r for r in home.cost_json(by="month", timezone="Asia/Shanghai")["rows"]}
    assert utc[("2026-02", "USD")]["requests"] == 1 and ("2026-02", "USD") not in shanghai  # 28 Feb 17:30 UTC
    assert shanghai[("2026-03", "USD")]["requests"] == 1
    assert utc[("2026-03", "CNY")]["requests"] == 3 and shanghai[("2026-03", "CNY")]["requests"] == 2
    days = {r["period"] for r in home.cost_json(by="day", timezone="America/New_York")["rows"]}
    assert "2026-03-09" in days and "2026-03-08" not in days  # 04:30 UTC is 00:30 EDT (a fixed -05:00 says 8th)


def test_filters_bench_currency_month_and_dates(home: Home) -> None:
    rows, totals = expected(("month",), "UTC", include_bench=True)
    _check(home.cost_json(by="month", timezone="UTC", include_bench=True), ("month",), rows, totals)
    rows, totals = expected(("month",), "UTC", currency="USD")
    _check(home.cost_json(by="month", timezone="UTC", currency="usd"), ("month",), rows, totals)
    doc = home.cost_json(by="day", timezone="Asia/Shanghai", month="2026-03")
    assert {r["period"][:7] for r in doc["rows"]} == {"2026-03"} and doc["totals"]["requests"] == 3
    doc = home.cost_json(by="day", timezone="UTC", since="2026-02-03", until="2026-03-09")
    assert [r["period"] for r in doc["rows"]] == ["2026-02-03", "2026-02-28", "2026-03-09"]
    assert doc["totals"]["requests"] == 4
    doc = home.cost_json(by="model", profiles=("card",), models=("beta-2",), timezone="UTC")
    assert [(r["model"], r["requests"]) for r in doc["rows"]] == [("beta-2", 1)]


def test_unpriced_requests_are_counted_and_named_never_zero(home: Home) -> None:
    doc = home.cost_json(by="month,model", timezone="UTC")
    row = next(r for r in doc["rows"] if r["model"] == "zz-house-unpriced" and r["currency"] == "CNY")
    assert row["cost_usd"] is None and row["billed"] is None and row["unpriced_requests"] == 1
    assert {(u["model"], u["reason"]): u["requests"] for u in doc["unpriced"]} == {
        ("zz-house-unpriced", "no price"): 2,
        ("alpha-1", "unknown usage"): 1,
    }
    out, err = home.cost(by="month", timezone="UTC")
    assert "3 requests unpriced: zz-house-unpriced (2, no price), alpha-1 (1, unknown usage)" in err
    assert '[prices."zz-house-unpriced"]' in err and "--reprice" in err


def test_csv_and_table_agree_with_json(home: Home) -> None:
    for by in ("month", "day,model", "profile"):
        doc = home.cost_json(by=by, timezone="Asia/Shanghai")
        text, _ = home.cost(by=by, timezone="Asia/Shanghai", output="csv")
        records = list(csv.DictReader(io.StringIO(text)))
        keys = [n for n in ("period", "model", "profile") if n in records[0]]
        data = [r for r in records if r["type"] == "row"]
        totals = [r for r in records if r["type"] == "total"]
        assert len(data) == len(doc["rows"]) and len(totals) == 3  # one per currency, then all
        for record, row in zip(data, doc["rows"], strict=True):
            for name in keys + list(doc["totals"]):
                assert record[name] == ("" if row[name] is None else str(row[name])), (by, name)
        for record, total in zip(totals, [*doc["totals_by_currency"], doc["totals"]], strict=True):
            assert all(record[n] == ("" if total[n] is None else str(total[n])) for n in total), by
        table, _ = home.cost(by=by, timezone="Asia/Shanghai")  # not a terminal: tab-separated
        lines = [line.split("\t") for line in table.splitlines()]
        assert len(lines) == 1 + len(doc["rows"]) + 3
        column = lines[0].index("requests")
        assert [int(line[column].replace(",", "")) for line in lines[1:]] == [
            r["requests"] for r in [*doc["rows"], *doc["totals_by_currency"], doc["totals"]]
        ]


def test_savings_against_compare_to(home: Home) -> None:
    doc = home.cost_json(by="profile", timezone="UTC", currency="CNY")
    rows = {r["profile"]: r for r in doc["rows"]}
    relay = rows["relay"]
    assert Decimal(relay["direct_billed"]) == Decimal(relay["cost_usd"]) * Decimal("7.3")
    assert Decimal(relay["savings"]) == Decimal(relay["direct_billed"]) - Decimal(relay["billed"])
    assert rows["direct"]["direct_billed"] is None and rows["direct"]["savings"] is None
    total = doc["totals"]  # direct profile counted at what it paid, the relay at the card rate
    assert Decimal(total["direct_billed"]) == Decimal(relay["direct_billed"]) + Decimal(rows["direct"]["billed"])


def test_money_is_exact_decimal_strings(home: Home) -> None:
    doc = home.cost_json(by="month", timezone="UTC")
    cost = doc["totals_by_currency"][0]["cost_usd"]
    assert isinstance(cost, str) and "e" not in cost.lower() and Decimal(cost) == Decimal(cost).normalize()


def test_a_report_in_a_zone_with_a_half_hour_offset(home: Home) -> None:
    doc = home.cost_json(by="day", timezone="Asia/Kolkata")
    rows, totals = expected(("day",), "Asia/Kolkata")
    _check(doc, ("day",), rows, totals)


def test_now_is_not_needed_for_past_reports(home: Home) -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert home.cost_json(by="month", timezone="UTC", now=later)["totals"]["requests"] == 13


def test_json_has_the_contract_keys(home: Home) -> None:
    contract = {
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cost_usd",
        "billed",
        "currency",
        "unpriced_requests",
        "direct_billed",
        "savings",
    }
    for by, keys in (("month", {"period"}), ("model", {"model"}), ("day,profile", {"period", "profile"})):
        doc = home.cost_json(by=by, timezone="UTC")
        extra = {"cache_write_tokens", "prompt_tokens_unknown", "completion_tokens_unknown"}
        extra |= {"cache_hits", "cache_hit_rate", "cache_saved_usd", "cache_saved_billed", "cache_saved_unknown"}
        assert all(set(row) == contract | keys | extra for row in doc["rows"])
        assert set(doc["totals"]) == set(doc["rows"][0]) and all(doc["totals"][k] is None for k in keys)
        assert {"rows", "totals", "totals_by_currency", "unpriced", "budgets", "projection"} <= set(doc)
