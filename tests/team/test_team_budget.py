"""Team budgets checked on every request, against the team's spend on the real server plus this machine's
rows not pushed yet: `budget_action = "block"` refuses once a budget is used up; warnings at 80 % / 100 %."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from relaycli.config.team import TeamSettings
from relaycli.team.budget import TeamBudget

PRICED = """
[prices."gpt-4.1-mini"]
input = 0.4
output = 1.6
"""


def home(tmp_path: Path, name: str, team: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "config.toml").write_text(f"[team]\n{team}\n" + PRICED)
    return path


def test_a_team_budget_used_up_elsewhere_blocks_this_machine(
    tmp_path: Path, mock_server: Any, team_dsn: str, relay: Any
) -> None:
    env = {"RELAY_TEAM_DSN": team_dsn, "RELAY_MOCK_URL": mock_server.url}
    ana = home(tmp_path, "ana", 'user = "ana"\npush = "manual"')
    for prompt in ("one", "two"):  # about $0.000065 each
        assert relay(ana, "stream", "--no-cache", "-p", "mock", prompt, env=env).code == 0
    assert relay(ana, "team", "push", env=env).code == 0

    ben = home(tmp_path, "ben", 'user = "ben"\npush = "manual"\nbudget = 0.0001\nbudget_action = "block"')
    refused = relay(ben, "stream", "--no-cache", "-p", "mock", "three", env=env)
    assert refused.code == 3, refused.err
    assert "the team has used up its monthly budget" in refused.err
    assert refused.out == ""

    cleo = home(tmp_path, "cleo", 'user = "cleo"\npush = "manual"\nbudget = 0.0002')  # warn, the default
    first = relay(cleo, "stream", "--no-cache", "-p", "mock", "four", env=env)
    assert first.code == 0 and "80 %" in first.err, first.err  # 0.00013 + 0.000065 crosses 0.00016
    second = relay(cleo, "stream", "--no-cache", "-p", "mock", "five", env=env)
    assert second.code == 0 and "the team has reached its monthly budget" in second.err, second.err


def test_a_user_budget_counts_the_users_spend_and_the_figures_are_fetched_once(tmp_path: Path) -> None:
    """(cleo above crosses 100 % only because her own unpushed first request counts.)"""
    from datetime import UTC, datetime

    from relaycli.ledger import Ledger

    settings = TeamSettings(configured=True, user="dana", budgets={"dana": Decimal("1")}, budget_action="block")
    fetched: list[str] = []

    def fetch(month: str, currency: str, user: str) -> tuple[Decimal, Decimal]:
        fetched.append(user)
        return Decimal("5"), Decimal("0.75")

    budget = TeamBudget(settings, {"TZ": "UTC"}, tmp_path, fetch=fetch, clock=lambda: 1_800_000_000.0)
    ledger = Ledger.open(tmp_path / "ledger.db")
    now = datetime(2027, 1, 15, tzinfo=UTC)
    budget.check_before(
        lambda: ledger, warn=_fail, now=now
    )  # the user's 0.75 of 1: allowed (the team's 5 has no budget)
    budget.check_before(lambda: ledger, warn=_fail, now=now)
    assert fetched == ["dana"]  # kept for REFRESH_S, not fetched per request
    assert (tmp_path / "team-spend.json").stat().st_mode & 0o777 == 0o600
    ledger.close()


def _fail(message: str) -> None:
    raise AssertionError(message)
