"""`relay cost --reprice`: stored costs recomputed with the current table and overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from relaycli.ledger import Ledger

from .support import CONFIG, Home

WHEN = datetime(2026, 4, 2, 12, tzinfo=UTC)


def _rows(home: Home) -> dict[str, list[tuple[str | None, Decimal | None, Decimal | None]]]:
    with Ledger.open(home.path / "ledger.db") as ledger:
        out: dict[str, list[tuple[str | None, Decimal | None, Decimal | None]]] = {}
        for row in ledger.recent(100):
            out.setdefault(row.model_requested, []).append((row.price_json, row.cost_usd, row.cost_billed))
        return out


def test_reprice_prices_the_unpriced_and_follows_changed_prices(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.record(WHEN, "relay", "zz-house-unpriced", 1_000_000, 100_000)
    home.record(WHEN, "direct", "zz-house-unpriced", 2_000_000, 0)
    home.record(WHEN, "relay", "zz-house-unpriced", None, None)  # unknown usage stays unknown
    home.record(WHEN, "relay", "alpha-1", 1_000_000, 0, 500_000)  # 0.5M at $2 + 0.5M cached at $0.50
    home.record(WHEN, "relay", "beta-2", 1_000_000, 0)
    before = home.cost_json(timezone="UTC")
    assert before["totals"]["unpriced_requests"] == 3 and before["totals_by_currency"][0]["cost_usd"] == "4.25"

    home.write_config(
        CONFIG.replace('[prices."alpha-1"]\ninput = 2.00', '[prices."alpha-1"]\ninput = 4.00')
        + '\n[prices."zz-house-unpriced"]\ninput = 1.00\noutput = 10.00\n'
    )
    out, err = home.cost(timezone="UTC", output="json", reprice=True)
    assert "repriced 4 requests with the current prices (3 newly priced)" in err
    doc = json.loads(out)
    assert doc["totals"]["unpriced_requests"] == 1  # the one with unknown usage
    assert doc["unpriced"] == [{"model": "zz-house-unpriced", "requests": 1, "reason": "unknown usage"}]
    rows = _rows(home)
    unpriced = sorted(rows["zz-house-unpriced"], key=lambda r: r[1] or 0)
    assert [r[1] for r in unpriced] == [None, Decimal(2), Decimal(2)]  # 1.0 + 1.0; 2.0
    assert sorted(r[2] for r in unpriced if r[2] is not None) == [Decimal(2), Decimal("14.6")]  # direct: 7.3/USD
    assert Decimal(json.loads(unpriced[1][0])["output"]) == 10
    assert rows["alpha-1"][0][1] == Decimal("2.25")  # 0.5M at $4 + 0.5M cached at $0.50
    assert rows["beta-2"][0][1] == Decimal(3)  # unchanged
    assert doc["totals_by_currency"][0]["cost_usd"] == str(Decimal("2") + 2 + Decimal("2.25") + 3)

    _, err = home.cost(timezone="UTC", reprice=True)
    assert "every selected request already has the current price" in err


def test_reprice_only_touches_the_selection(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.record(WHEN, "relay", "zz-house-unpriced", 1_000_000, 0)
    home.record(datetime(2026, 5, 2, tzinfo=UTC), "relay", "zz-house-unpriced", 1_000_000, 0)
    home.write_config(CONFIG + '\n[prices."zz-house-unpriced"]\ninput = 1\noutput = 1\n')
    _, err = home.cost(timezone="UTC", month="2026-05", reprice=True)
    assert "repriced 1 request " in err
    assert sorted(str(r[1] and r[1].normalize()) for r in _rows(home)["zz-house-unpriced"]) == ["1", "None"]


def _hits(home: Home) -> dict[str, tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]]:
    """``profile/model -> (cost_usd, cost_billed, saved_usd, saved_billed)`` of the cached rows."""
    with Ledger.open(home.path / "ledger.db") as ledger:
        return {
            f"{r.profile}/{r.model_requested}": (r.cost_usd, r.cost_billed, r.saved_usd, r.saved_billed)
            for r in ledger.recent(100)
            if r.cached
        }


def test_reprice_recomputes_what_a_cache_hit_saved_and_keeps_its_cost_at_zero(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.record(WHEN, "direct", "alpha-1", 1_000_000, 0, 500_000, hit=True)  # 0.5M at $2 + 0.5M at $0.50
    home.record(WHEN, "relay", "zz-house-unpriced", 1_000_000, 100_000, hit=True)
    home.record(WHEN, "relay", "alpha-1", 1_000_000, 0, 500_000)  # sent: costs what it saved above
    assert _hits(home) == {
        "direct/alpha-1": (0, 0, Decimal("1.25"), Decimal("9.125")),  # 7.3 CNY per USD
        "relay/zz-house-unpriced": (0, 0, None, None),
    }

    home.write_config(
        CONFIG.replace('[prices."alpha-1"]\ninput = 2.00', '[prices."alpha-1"]\ninput = 4.00')
        + '\n[prices."zz-house-unpriced"]\ninput = 1.00\noutput = 10.00\n'
    )
    _, err = home.cost(timezone="UTC", reprice=True)
    assert "repriced 3 requests with the current prices (1 newly priced)" in err
    assert _hits(home) == {
        "direct/alpha-1": (0, 0, Decimal("2.25"), Decimal("16.425")),  # 0.5M at $4 + 0.5M at $0.50
        "relay/zz-house-unpriced": (0, 0, Decimal(2), Decimal(2)),  # 1M at $1 + 0.1M at $10, 1 CNY per USD
    }
    sent = [r for r in _rows(home)["alpha-1"] if r[1]]
    assert [(r[1], r[2]) for r in sent] == [(Decimal("2.25"), Decimal("2.25"))]

    home.write_config(CONFIG)  # the house model loses its price again: its saving is unknown, its cost still 0
    _, err = home.cost(timezone="UTC", reprice=True)
    assert "1 no longer priced" in err
    assert _hits(home)["relay/zz-house-unpriced"] == (0, 0, None, None)
    assert _hits(home)["direct/alpha-1"] == (0, 0, Decimal("1.25"), Decimal("9.125"))
