"""A generated ledger (benchmarks/gen_ledger.py, small): reports agree with plain SQL sums and stay fast;
sums past 64-bit integers stay exact."""

from __future__ import annotations

import importlib.util
import sqlite3
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from .support import CONFIG, Home

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_ledger", ROOT / "benchmarks" / "gen_ledger.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Home:
    gen = _generator()
    home = Home(tmp_path_factory.mktemp("scale") / "home", gen.CONFIG)
    gen.generate(home.path / "ledger.db", rows=20_000, months=3, seed=3)
    return home


def test_generated_ledger_reports_match_plain_sql(big: Home) -> None:
    conn = sqlite3.connect(big.path / "ledger.db")
    ((count, usd),) = conn.execute("SELECT COUNT(*), SUM(cost_usd) FROM requests WHERE tag IS NOT 'bench'")
    ((everything,),) = conn.execute("SELECT COUNT(*) FROM requests")
    ((hits, saved, unknown),) = conn.execute(
        "SELECT SUM(cached), SUM(saved_usd), SUM(cached AND saved_usd IS NULL) FROM requests WHERE tag IS NOT 'bench'"
    )
    conn.close()
    assert 0.25 < hits / count < 0.4 and unknown > 0  # a third of the answers, some of an unpriced model
    started = time.perf_counter()
    monthly = big.cost_json(timezone="Asia/Kolkata")
    daily = big.cost_json(by="day,model", timezone="Asia/Kolkata")
    elapsed = time.perf_counter() - started
    for doc in (monthly, daily):
        assert doc["totals"]["requests"] == count
        assert Decimal(doc["totals"]["cost_usd"]) == Decimal(usd).scaleb(-12)
        assert doc["totals"]["cache_hits"] == hits and doc["totals"]["cache_saved_unknown"] == unknown
        assert Decimal(doc["totals"]["cache_saved_usd"]) == Decimal(saved).scaleb(-12)
    assert big.cost_json(include_bench=True)["totals"]["requests"] == everything > count
    assert elapsed < 2.0, f"two reports on 20,000 rows took {elapsed:.2f} s"


def test_sums_beyond_64_bit_integers_stay_exact(tmp_path: Path) -> None:
    home = Home(tmp_path / "home", CONFIG + '\n[prices."whale"]\ninput = 5000000\noutput = 0\n')
    when = datetime(2026, 4, 2, tzinfo=UTC)
    for _ in range(3):  # $5,000,000 each: 5e18 pico-USD, past 2**63 together
        home.record(when, "relay", "whale", 1_000_000, 0)
    doc = home.cost_json(timezone="UTC", by="day")
    assert doc["rows"][0]["cost_usd"] == "15000000" and doc["rows"][0]["billed"] == "15000000"
    assert doc["rows"][0]["direct_billed"] == "109500000"
    assert doc["totals"]["cost_usd"] == "15000000"
