"""Monthly budgets: the spend query, the 80 % / 100 % warnings (once each), and blocking before sending."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from relaycli.commands.streaming import run as run_stream
from relaycli.context import AppContext
from relaycli.errors import BudgetExceeded, ExitCode
from relaycli.ledger import Ledger
from relaycli.pipeline.request import CacheUse
from relaycli.usage.budget import Spend, crossed, month_to_date
from tests.conftest import run_relay

from .support import Home

CAPPED = """\
[profiles.capped]
base_url = "{url}/v1"
default_model = "gpt-4.1-mini"
billing = {{ currency = "CNY", per_usd = 1.0 }}
budget = 0.1
budget_action = "{action}"

[prices."gpt-4.1-mini"]
input = 1000
output = 1000
"""  # "hello there": 2 prompt + 40 completion tokens at $1000 per 1M = 0.042, a budget of 0.1


def test_crossed_names_the_highest_threshold_once() -> None:
    budget = Decimal(100)
    assert crossed(Decimal(0), Decimal(79), budget) is None
    assert crossed(Decimal(79), Decimal(80), budget) == Decimal("0.8")
    assert crossed(Decimal(80), Decimal(99), budget) is None  # already past 80 %
    assert crossed(Decimal(99), Decimal(100), budget) == 1
    assert crossed(Decimal(50), Decimal(150), budget) == 1  # both at once: one warning
    assert crossed(Decimal(100), Decimal(120), budget) is None
    assert crossed(Decimal(0), Decimal("0.01"), Decimal(0)) == 1


def test_percent_rounds_down() -> None:
    spend = Spend("p", "2026-04", Decimal(500), Decimal("399.99"), "CNY", "warn")
    assert spend.percent == 79 and not spend.over
    assert spend.figures() == "¥399.99 of ¥500.00 (79%) in 2026-04"
    assert Spend("p", "2026-04", Decimal(0), Decimal(0), "CNY", "block").percent is None


def test_month_to_date_counts_one_profile_one_currency_one_local_month(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.record(datetime(2026, 3, 31, 15, 59, tzinfo=UTC), "relay", "alpha-1", 1_000_000, 0)  # March in Shanghai
    home.record(datetime(2026, 3, 31, 16, 0, tzinfo=UTC), "relay", "alpha-1", 1_000_000, 0)  # 1 April 00:00
    home.record(datetime(2026, 4, 15, tzinfo=UTC), "relay", "alpha-1", 0, 1_000_000, tag="bench")  # counted
    home.record(datetime(2026, 4, 15, tzinfo=UTC), "direct", "alpha-1", 1_000_000, 0)  # another profile
    profile = replace(home.settings.profiles["relay"], budget=Decimal(20))
    with Ledger.open(home.path / "ledger.db") as ledger:
        spend = month_to_date(ledger, profile, now=datetime(2026, 4, 20, tzinfo=UTC), env={"TZ": "Asia/Shanghai"})
        assert (spend.month, spend.spent, spend.currency) == ("2026-04", Decimal(10), "CNY")  # 2 + 8
        spend = month_to_date(ledger, profile, now=datetime(2026, 4, 20, tzinfo=UTC), env={"TZ": "UTC"})
        assert spend.spent == Decimal(8)  # both March rows are in March in UTC: the bench row alone


def _stream(env: dict[str, str], err: io.StringIO, profile: str = "capped") -> int:
    ctx = AppContext(env=env, stdin=io.StringIO(""), stdout=io.StringIO(), stderr=err)
    # the cache off: every call is a billed request
    return run_stream(ctx, prompt=["hello", "there"], profile=profile, model=None, cache=CacheUse())


@pytest.mark.parametrize("action", ["warn", "block"])
def test_warnings_once_at_80_and_100_percent(tmp_path: Path, mock_server: Any, action: str) -> None:
    home = Home(tmp_path / "home", CAPPED.format(url=mock_server.url, action=action))
    env = {**home.env, "RELAY_MOCK_URL": mock_server.url, "TZ": "UTC"}
    messages = []
    for _ in range(3):
        err = io.StringIO()
        assert _stream(env, err) == 0
        messages.append(err.getvalue())
    assert messages[0] == ""
    assert messages[1] == (
        "relay: warning: profile 'capped' has used 84% of its monthly budget: "
        f"¥0.0840 of ¥0.1000 in {datetime.now(UTC):%Y-%m}\n"
    )  # the percentage once
    assert "has reached its monthly budget: ¥0.1260 of ¥0.1000 (126%)" in messages[2]
    assert ("further requests will be refused" in messages[2]) == (action == "block")
    err = io.StringIO()
    if action == "warn":
        assert _stream(env, err) == 0 and err.getvalue() == ""  # past 100 %: no more warnings
        return
    with pytest.raises(BudgetExceeded, match="has used its monthly budget"):
        _stream(env, err)
    with Ledger.open(home.path / "ledger.db") as ledger:
        assert ledger.count() == 3  # refused before sending: nothing recorded


def test_block_exits_3_with_the_figures(tmp_path: Path, relay_env: dict[str, str]) -> None:
    home = Home(
        Path(relay_env["RELAY_HOME"]),
        CAPPED.format(url=relay_env["RELAY_MOCK_URL"], action="block").replace("budget = 0.1", "budget = 0.05"),
    )
    relay_env = {**relay_env, "TZ": "UTC"}
    ran = run_relay("stream", "--no-cache", "-p", "capped", "hello", "there", env=relay_env)
    assert ran.code == 0 and "84%" in ran.err
    ran = run_relay("stream", "--no-cache", "-p", "capped", "hello", "there", env=relay_env)
    assert ran.code == 0 and "has reached its monthly budget" in ran.err
    ran = run_relay("stream", "--no-cache", "-p", "capped", "hello", "there", env=relay_env)
    assert ran.code == ExitCode.CONFIG and ran.out == ""
    assert "has used its monthly budget: ¥0.0840 of ¥0.0500 (168%)" in ran.err and "budget_action" in ran.err
    doc = home.cost_json(env={"TZ": "UTC"})
    assert doc["budgets"] == [
        {
            "profile": "capped",
            "month": f"{datetime.now(UTC):%Y-%m}",
            "budget": "0.05",
            "spent": "0.084",
            "currency": "CNY",
            "percent": 168,
            "action": "block",
        }
    ]
    _, err = home.cost(env={"TZ": "UTC"})
    assert "OVER BUDGET: profile 'capped' has spent ¥0.0840 of ¥0.0500 (168%)" in err
    before = home.cost_json(env={"TZ": "UTC"}, include_bench=True)["totals"]["requests"]
    ran = run_relay("bench", "-p", "capped", "-n", "2", env=relay_env)
    assert ran.code == ExitCode.CONFIG and "has used its monthly budget" in ran.err
    ran = run_relay("ping", "-p", "capped", "--chat", env=relay_env)
    assert ran.code == ExitCode.CONFIG and "has used its monthly budget" in ran.err
    after = home.cost_json(env={"TZ": "UTC"}, include_bench=True)["totals"]["requests"]
    assert after == before  # refused before anything was sent


def test_figures_never_show_a_budget_as_spent_before_it_is() -> None:
    from decimal import Decimal

    from relaycli.usage.budget import Spend

    spend = Spend(
        profile="p",
        month="2026-11",
        budget=Decimal("0.0001"),
        spent=Decimal("0.0000996"),
        currency="USD",
        action="warn",
    )
    assert spend.figures() == "just under $0.000100 of $0.000100 (99%) in 2026-11"
