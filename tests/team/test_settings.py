"""The [team] table, the DSN's sources and its scrubbing (no server needed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.config.loader import parse
from relaycli.config.team import TeamSettings, default_user
from relaycli.errors import ConfigError
from relaycli.team.dsn import resolve_dsn, scrub_dsn


def test_the_team_table() -> None:
    text = '[team]\ndsn_env = "TEAM_DB"\nuser = "ana"\npush = "manual"\nbudget = 500\nbudgets = { "ben" = 50 }\n'
    team = parse(Path("c.toml"), text).team
    assert team.configured and team.dsn_env == "TEAM_DB" and team.user == "ana" and team.push == "manual"
    assert team.budget == Decimal(500) and team.budgets == {"ben": Decimal(50)} and team.currency == "USD"
    assert parse(Path("c.toml"), "").team == TeamSettings()
    assert TeamSettings(configured=True).push == "auto"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[team]\npush = "sometimes"\n', 'line 2, column 1: [team] push: must be "auto" or "manual"'),
        ('[team]\n\ndsn_env = "1 bad"\n', "line 3, column 1: [team] dsn_env: expected the name of an environment"),
        ("[team]\nbudget = -1\n", "line 2, column 1: [team] budget: expected a number >= 0"),
        ('[team]\ndsn = "postgresql://u:p@h/db"\n', "line 2, column 1: [team] dsn: unknown setting"),
        ("team = 3\n", "[team]: expected a table"),
    ],
)
def test_mistakes_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(Path("c.toml"), text)
    assert message in caught.value.message


def test_where_the_dsn_comes_from() -> None:
    url = "postgresql://ana:s3cret-pw@db.example:5433/relay"
    dsn = resolve_dsn(TeamSettings(), {"RELAY_TEAM_DSN": url})
    assert dsn.source == "env RELAY_TEAM_DSN" and dsn.display == "postgresql://ana@db.example:5433/relay"
    cmd = TeamSettings(dsn_cmd=f"echo {url}")
    assert resolve_dsn(cmd, {"RELAY_TEAM_DSN": "postgresql://other@h/db"}).value == url  # dsn_cmd wins
    with pytest.raises(ConfigError, match="environment variable RELAY_TEAM_DSN is not set"):
        resolve_dsn(TeamSettings(), {})
    with pytest.raises(ConfigError, match="must be a postgresql:// URL") as caught:
        resolve_dsn(TeamSettings(), {"RELAY_TEAM_DSN": "mysql://u:hunter22@h/db"})
    assert "hunter22" not in str(caught.value.message) + str(caught.value.hint)
    text = f"failed: {url} and :s3cret-pw@ and password=s3cret-pw and postgres://x:other-pw@h"
    clean = scrub_dsn(text, dsn)
    assert "s3cret-pw" not in clean and "other-pw" not in clean and "postgresql://ana@db.example:5433/relay" in clean
    assert "@" in default_user({"USER": "ana"}) and default_user({"USER": "ana"}).startswith("ana@")
