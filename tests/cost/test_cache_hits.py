"""Cache hits in `relay cost`: counted, rated and their savings summed, the same in JSON, CSV and the table;
never unpriced, never a saving against direct, nothing added to a budget.

The expected figures are worked out by hand below from support.CONFIG's prices (USD per 1M tokens):
alpha-1 $2 in, $8 out, $0.50 cached in; beta-2 $3 in, $15 out. Profiles: relay (CNY at 1 per USD,
compare_to CNY at 7.3), direct (CNY at 7.3), card (USD).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from relaycli.commands.cost import run as run_cost
from relaycli.context import AppContext
from relaycli.cost.run import CostOptions
from relaycli.ledger import Ledger
from relaycli.usage.budget import check_after, month_to_date

from .support import CONFIG, Home

MAY = datetime(2026, 5, 10, 12, tzinfo=UTC)
JUNE = datetime(2026, 6, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home(tmp_path_factory.mktemp("hits") / "home")
    home.record(MAY, "relay", "alpha-1", 10_000, 1_000)  # sent: 10k x $2 + 1k x $8 = $0.028
    home.record(MAY, "relay", "alpha-1", 10_000, 1_000, hit=True)  # saved $0.028, ¥0.028
    home.record(MAY, "relay", "alpha-1", 4_000, 500, 2_000, hit=True)  # 2k x $2 + 2k x $0.5 + 500 x $8 = $0.009
    home.record(MAY, "direct", "beta-2", 2_000, 100)  # sent: 2k x $3 + 100 x $15 = $0.0075, ¥0.05475
    home.record(MAY, "direct", "beta-2", 20_000, 1_000, hit=True)  # saved 20k x $3 + 1k x $15 = $0.075, ¥0.5475
    home.record(MAY, "relay", "zz-house-unpriced", 1_000, 10, hit=True)  # free; its saving is unknown
    home.record(MAY, "card", "alpha-1", 1_000_000, 0, hit=True)  # saved $2
    home.record(MAY, "card", "beta-2", 1_000, 100)  # sent: 1k x $3 + 100 x $15 = $0.0045
    home.record(JUNE, "relay", "alpha-1", 1_000, 100)  # sent: 1k x $2 + 100 x $8 = $0.0028; no hits in June
    return home


# By month, in UTC: (period, currency) -> the figures.
EXPECTED = {
    ("2026-05", "CNY"): {
        "requests": 6,
        "cost_usd": "0.0355",  # 0.028 + 0.0075: the hits cost nothing
        "billed": "0.08275",  # 0.028 + 0.05475
        # the relay's sent request at the card rate (0.028 x 7.3), the direct profile at what it paid: the
        # hits add nothing, direct or not
        "direct_billed": "0.25915",
        "savings": "0.1764",
        "cache_hits": 4,
        "cache_hit_rate": "0.6667",  # 4 / 6
        "cache_saved_usd": "0.112",  # 0.028 + 0.009 + 0.075
        "cache_saved_billed": "0.5845",  # 0.028 + 0.009 + 0.5475
        "cache_saved_unknown": 1,  # the unpriced model's hit
        "unpriced_requests": 0,
    },
    ("2026-05", "USD"): {
        "requests": 2,
        "cost_usd": "0.0045",
        "billed": "0.0045",
        "cache_hits": 1,
        "cache_hit_rate": "0.5",
        "cache_saved_usd": "2",
        "cache_saved_billed": "2",
        "cache_saved_unknown": 0,
    },
    ("2026-06", "CNY"): {
        "requests": 1,
        "cost_usd": "0.0028",
        "direct_billed": "0.02044",
        "cache_hits": 0,
        "cache_hit_rate": "0",
        "cache_saved_usd": "0",  # no hits: a known 0, not unknown
        "cache_saved_billed": "0",
        "cache_saved_unknown": 0,
    },
}
TOTALS = {
    "CNY": {
        "requests": 7,
        "cache_hits": 4,
        "cache_hit_rate": "0.5714",  # 4 / 7
        "cache_saved_usd": "0.112",
        "cache_saved_billed": "0.5845",
        "cache_saved_unknown": 1,
    },
    "USD": {"requests": 2, "cache_hits": 1, "cache_hit_rate": "0.5", "cache_saved_billed": "2"},
    None: {
        "requests": 9,
        "cost_usd": "0.0428",
        "cache_hits": 5,
        "cache_hit_rate": "0.5556",  # 5 / 9
        "cache_saved_usd": "2.112",
        "cache_saved_billed": None,  # two currencies: no one billed amount
        "cache_saved_unknown": 1,
        "unpriced_requests": 0,
    },
}
# What the table shows for the same lines (not a terminal: tab-separated, every column).
TABLE = {
    ("2026-05", "CNY"): {"hits": "4", "hit rate": "66.7%", "cache saved": "¥0.5845+"},
    ("2026-05", "USD"): {"hits": "1", "hit rate": "50.0%", "cache saved": "$2.00"},
    ("2026-06", "CNY"): {"hits": "0", "hit rate": "0.0%", "cache saved": "¥0.00"},
    ("total", "CNY"): {"hits": "4", "hit rate": "57.1%", "cache saved": "¥0.5845+"},
    ("total", "USD"): {"hits": "1", "hit rate": "50.0%", "cache saved": "$2.00"},
    ("total", "all"): {"hits": "5", "hit rate": "55.6%", "cache saved": "-"},
}


def _subset(actual: dict[str, Any], wanted: dict[str, Any]) -> None:
    assert {name: actual[name] for name in wanted} == wanted


def test_json_counts_hits_rates_and_savings(home: Home) -> None:
    doc = home.cost_json(timezone="UTC")
    rows = {(r["period"], r["currency"]): r for r in doc["rows"]}
    assert set(rows) == set(EXPECTED)
    for key, wanted in EXPECTED.items():
        _subset(rows[key], wanted)
    for total in doc["totals_by_currency"]:
        _subset(total, TOTALS[total["currency"]])
    _subset(doc["totals"], TOTALS[None])
    assert doc["unpriced"] == []  # a hit of an unpriced model cost nothing: it is not unpriced
    _, err = home.cost(timezone="UTC")
    assert "1 cache hit saved an unknown amount" in err and "unpriced" not in err


def test_a_line_whose_hits_all_have_an_unknown_saving_says_unknown_not_zero(home: Home) -> None:
    doc = home.cost_json(timezone="UTC", by="month,model")
    row = next(r for r in doc["rows"] if r["model"] == "zz-house-unpriced")
    _subset(
        row,
        {
            "requests": 1,
            "cost_usd": "0",
            "billed": "0",
            "unpriced_requests": 0,
            "cache_hits": 1,
            "cache_hit_rate": "1",
            "cache_saved_usd": None,
            "cache_saved_billed": None,
            "cache_saved_unknown": 1,
        },
    )
    table, _ = home.cost(timezone="UTC", by="month,model")
    header, *lines = [line.split("\t") for line in table.splitlines()]
    cells = dict(zip(header, next(line for line in lines if line[1] == "zz-house-unpriced"), strict=True))
    assert (cells["hits"], cells["hit rate"], cells["cache saved"]) == ("1", "100.0%", "?")


def test_csv_and_table_agree_with_json_on_hits(home: Home) -> None:
    doc = home.cost_json(timezone="UTC")
    text, _ = home.cost(timezone="UTC", output="csv")
    records = list(csv.DictReader(io.StringIO(text)))
    lines = [*doc["rows"], *doc["totals_by_currency"], doc["totals"]]
    assert len(records) == len(lines) == 6
    names = ("cache_hits", "cache_hit_rate", "cache_saved_usd", "cache_saved_billed", "cache_saved_unknown")
    for record, line in zip(records, lines, strict=True):
        assert {n: record[n] for n in names} == {n: "" if line[n] is None else str(line[n]) for n in names}
    assert records[0]["cache_hit_rate"] == "0.6667" and records[-1]["cache_saved_billed"] == ""

    table, _ = home.cost(timezone="UTC")
    header, *cells = [line.split("\t") for line in table.splitlines()]
    assert header[-3:] == ["hits", "hit rate", "cache saved"]
    shown = {(row[0], row[header.index("cur")]): dict(zip(header, row, strict=True)) for row in cells}
    assert set(shown) == set(TABLE)
    for key, wanted in TABLE.items():
        _subset(shown[key], wanted)
    for row, line in zip(cells, lines, strict=True):  # the same figures as JSON, in the same order
        assert int(row[header.index("hits")]) == line["cache_hits"]
        rate = Decimal(line["cache_hit_rate"]) * 100
        assert row[header.index("hit rate")] == f"{rate.quantize(Decimal('0.1'))}%"


def test_compact_table_shows_the_hit_rate_and_saving(home: Home) -> None:
    table, _ = home.cost(timezone="UTC", compact=True)
    header, *cells = [line.split("\t") for line in table.splitlines()]
    assert header[-2:] == ["hit%", "c.saved"]
    assert [row[-2:] for row in cells] == [
        ["66.7%", "¥0.5845+"],
        ["50.0%", "$2.00"],
        ["0.0%", "¥0.00"],
        ["57.1%", "¥0.5845+"],
        ["50.0%", "$2.00"],
        ["55.6%", "-"],
    ]


def test_a_report_without_hits_has_no_cache_columns(home: Home) -> None:
    table, _ = home.cost(timezone="UTC", month="2026-06")
    header = table.splitlines()[0].split("\t")
    assert "hits" not in header and "cache saved" not in header
    compact, _ = home.cost(timezone="UTC", month="2026-06", compact=True)
    assert "hit%" not in compact.splitlines()[0].split("\t")
    doc = home.cost_json(timezone="UTC", month="2026-06")
    assert doc["totals"]["cache_hits"] == 0 and doc["totals"]["cache_saved_usd"] == "0"


def test_an_empty_report_has_no_hit_rate(tmp_path: Path) -> None:
    doc = Home(tmp_path / "home").cost_json()
    assert doc["totals"]["cache_hits"] == 0 and doc["totals"]["cache_hit_rate"] is None


def test_projection_scales_hits_and_savings(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    start = datetime(2026, 4, 1, 12, tzinfo=UTC)
    for day in range(10):
        home.record(start + timedelta(days=day), "relay", "alpha-1", 10_000, 1_000, hit=day % 2 == 0)
    now = datetime(2026, 4, 11, tzinfo=UTC)  # 10 of 30 days elapsed: x3
    doc = home.cost_json(timezone="UTC", project=1, now=now)
    (projected,) = doc["projection"]["rows"]
    _subset(
        projected,
        {
            "requests": 30,
            "cache_hits": 15,
            "cache_hit_rate": "0.5",
            "cache_saved_usd": "0.42",  # 5 hits x $0.028, x3
            "cache_saved_billed": "0.42",
            "cost_usd": "0.42",  # 5 sent x $0.028, x3
        },
    )


# --- table width ---------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _visible(text: str) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip() for line in text.splitlines()]


def test_compact_table_with_cache_columns_fits_80_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home(tmp_path / "home")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(40):
        model = ("claude-sonnet-4-5-20250929-extended-thinking", "alpha-1", "beta-2")[n % 3]
        profile = ("relay", "card")[n % 2]
        home.record(start + timedelta(days=n), profile, model, 123_456_789, 9_876_543, 1_000_000, hit=n % 3 != 2)
    now = datetime(2026, 4, 9, tzinfo=UTC)
    for width in (80, 200):
        monkeypatch.setenv("COLUMNS", str(width))
        for by in ("month", "month,model", "day,model,profile"):
            out, err = Terminal(), io.StringIO()
            ctx = AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=err)
            run_cost(ctx, CostOptions(by=by, compact=True, project=1 if "month" in by else 0), now=now)
            lines = _visible(out.getvalue())
            assert max(map(len, lines)) <= 80, (width, by, max(lines, key=len))
            header = next(line for line in lines if line.split()[:1] in (["month"], ["day"]))
            if by == "month":  # room for them: shown
                assert "hit%" in header and "c.saved" in header and "left out" not in err.getvalue()
            if "hit%" not in header:  # left out to fit 80 columns, and said so
                assert "left out to fit 80 columns" in err.getvalue(), (width, by)


def test_full_table_drops_the_cache_columns_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home(tmp_path / "home")
    home.record(MAY, "relay", "alpha-1", 10_000, 1_000, hit=True)
    home.record(MAY, "relay", "alpha-1", 10_000, 1_000)
    monkeypatch.setenv("COLUMNS", "100")
    out, err = Terminal(), io.StringIO()
    run_cost(AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=err), CostOptions(), now=MAY)
    lines = _visible(out.getvalue())
    assert max(map(len, lines)) <= 100
    assert "hits, hit rate, cache saved" in err.getvalue()
    header = next(line for line in lines if line.startswith("month"))
    assert "input" in header and "billed" in header and "hit rate" not in header


# --- budgets --------------------------------------------------------------------------------------------------


def test_a_cache_hit_adds_nothing_to_a_budget(tmp_path: Path) -> None:
    home = Home(
        tmp_path / "home",
        CONFIG.replace("per_usd = 7.3 }\n\n[profiles.direct]", "per_usd = 7.3 }\nbudget = 1\n\n[profiles.direct]"),
    )
    profile = home.settings.profiles["relay"]
    assert profile.budget == 1
    home.record(MAY, "relay", "alpha-1", 100_000, 10_000)  # 100k x $2 + 10k x $8 = ¥0.28 at 1 per USD
    with Ledger.open(home.path / "ledger.db") as ledger:
        before = month_to_date(ledger, profile, now=MAY, env={"TZ": "UTC"})
    for _ in range(10):  # ¥2.80 had they been sent: well past the budget
        home.record(MAY, "relay", "alpha-1", 100_000, 10_000, hit=True)
    with Ledger.open(home.path / "ledger.db") as ledger:
        after = month_to_date(ledger, profile, now=MAY, env={"TZ": "UTC"})
        (hit, *_) = ledger.recent(1)
    assert before.spent == after.spent == Decimal("0.28") and not after.over
    warnings: list[str] = []
    with Ledger.open(home.path / "ledger.db") as ledger:
        check_after(lambda: ledger, profile, hit, warn=warnings.append, env={"TZ": "UTC"})
    assert hit.cached and hit.cost_billed == 0 and warnings == []
