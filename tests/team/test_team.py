"""The team ledger against a real PostgreSQL server: three machines (three RELAY_HOMEs) record requests on
the local relay and push; the team report equals the sum of their local reports, to the last decimal."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.team.pgserver import ADMIN_PASSWORD

PRICES = """
[prices."gpt-4.1-mini"]
input = 0.4
output = 1.6

[profiles.cny]
base_url = "{url}/v1"
default_model = "gpt-4.1"
billing = {{ currency = "CNY", per_usd = 7.1 }}
"""

MACHINES = {"a": "ana", "b": "ana", "c": "ben"}
PROMPTS = {
    "a": [("mock", "one two"), ("mock", "[[mock: no_usage]] three"), ("cny", "four five six")],
    "b": [("mock", "seven"), ("mock-anthropic", "eight nine")],
    "c": [("cny", "ten"), ("mock", "[[mock: fail=400]] eleven"), ("mock", "twelve thirteen")],
}


def machine(tmp_path: Path, name: str, mock_url: str, push: str = "manual", extra: str = "") -> Path:
    home = tmp_path / name
    home.mkdir()
    (home / "config.toml").write_text(
        f'[team]\nuser = "{MACHINES[name]}"\npush = "{push}"\n{extra}' + PRICES.format(url=mock_url)
    )
    return home


def record(relay: Any, home: Path, env: dict[str, str], name: str) -> None:
    for profile, prompt in PROMPTS[name]:
        relay(home, "stream", "--no-cache", "-p", profile, prompt, env=env)


def totals(doc: dict[str, Any]) -> dict[str, Any]:
    return {c["currency"]: c for c in doc["totals_by_currency"]}


FIGURES = ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "billed", "unpriced_requests")


def summed(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for currency, line in totals(doc).items():
            acc = out.setdefault(currency, dict.fromkeys(FIGURES, 0))
            for name in FIGURES:
                value = line[name]
                acc[name] += Decimal(value) if name in ("cost_usd", "billed") else (value or 0)
    return out


def figures(line: dict[str, Any]) -> dict[str, Any]:
    return {n: Decimal(line[n]) if n in ("cost_usd", "billed") else (line[n] or 0) for n in FIGURES}


@pytest.fixture
def team(tmp_path: Path, mock_server: Any, team_dsn: str, relay: Any) -> dict[str, Any]:
    env = {"RELAY_TEAM_DSN": team_dsn, "RELAY_MOCK_URL": mock_server.url}
    homes = {name: machine(tmp_path, name, mock_server.url) for name in MACHINES}
    for name, home in homes.items():
        record(relay, home, env, name)
    return {"env": env, "homes": homes}


def test_three_machines_report_as_one(team: dict[str, Any], relay: Any) -> None:
    env, homes = team["env"], team["homes"]
    local: dict[str, dict[str, Any]] = {}
    for name, home in homes.items():
        ran = relay(home, "team", "push", "--json", env=env)
        assert ran.code == 0, ran.err
        assert json.loads(ran.out)["new"] == len(PROMPTS[name])
        local[name] = json.loads(relay(home, "cost", "--json", env=env).out)
    report = relay(homes["a"], "cost", "--team", "--json", env=env)
    assert report.code == 0, report.err
    team_doc = json.loads(report.out)
    expected = summed(list(local.values()))
    assert {c: figures(line) for c, line in totals(team_doc).items()} == expected
    assert set(expected) == {"USD", "CNY"}

    by_user = json.loads(relay(homes["c"], "cost", "--team", "--json", "--by", "user", env=env).out)
    for user in ("ana", "ben"):
        mine = [local[n] for n, u in MACHINES.items() if u == user]
        rows = {r["currency"]: figures(r) for r in by_user["rows"] if r["user"] == user}
        assert rows == summed(mine), user

    by_machine = json.loads(relay(homes["b"], "cost", "--team", "--json", "--by", "machine", env=env).out)
    labels = {r["machine"] for r in by_machine["rows"]}
    assert len(labels) == 3
    for name, home in homes.items():
        key = (home / "machine_id").read_text().strip()
        rows = {r["currency"]: figures(r) for r in by_machine["rows"] if r["machine"].endswith(key[:8])}
        assert rows == summed([local[name]]), name

    # the same figures from the rows themselves (a zone whose days do not start on a whole UTC hour)
    kolkata = json.loads(relay(homes["a"], "cost", "--team", "--json", "--timezone", "Asia/Kolkata", env=env).out)
    assert {c: figures(line) for c, line in totals(kolkata).items()} == expected

    # pushing again, from every machine, changes nothing
    for home in homes.values():
        again = relay(home, "team", "push", "--json", env=env)
        assert again.code == 0 and json.loads(again.out) == {"sent": 0, "new": 0, "pending": 0}
    assert (
        json.loads(relay(homes["a"], "cost", "--team", "--json", env=env).out)["totals_by_currency"]
        == (team_doc["totals_by_currency"])
    )


def test_a_push_cut_off_midway_resumes_and_counts_each_row_once(
    team: dict[str, Any], relay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relaycli.team import push as push_module

    env, homes = team["env"], team["homes"]
    original = push_module._send
    calls = []

    def dies_in_the_second_batch(store: Any, machine: int, user: str, rows: list[Any]) -> int:
        calls.append(len(rows))
        added = original(store, machine, user, rows)  # the rows are in the transaction...
        if len(calls) == 2:
            raise KeyboardInterrupt  # ...and the process dies before it commits
        return added

    monkeypatch.setattr(push_module, "_send", dies_in_the_second_batch)
    cut = relay(homes["a"], "team", "push", "--batch", "1", env=env)
    assert cut.code == 130 and calls == [1, 1]
    monkeypatch.setattr(push_module, "_send", original)
    status = json.loads(relay(homes["a"], "team", "status", "--json", env=env).out)
    assert status["pending"] == len(PROMPTS["a"]) - 1 and status["server"]["requests"] == 1
    # the machine's high-water mark is lost too: a full resend is still counted once
    import psycopg

    with psycopg.connect(env["RELAY_TEAM_DSN"], autocommit=True) as conn:
        conn.execute("UPDATE machines SET pushed_rowid = 0")
    resumed = relay(homes["a"], "team", "push", "--json", env=env)
    assert json.loads(resumed.out) == {"sent": 3, "new": 2, "pending": 0}
    local = json.loads(relay(homes["a"], "cost", "--json", env=env).out)
    shared = json.loads(relay(homes["a"], "cost", "--team", "--json", env=env).out)
    assert local["totals_by_currency"] == shared["totals_by_currency"]


def test_automatic_push_after_a_command(tmp_path: Path, mock_server: Any, team_dsn: str, relay: Any) -> None:
    env = {"RELAY_TEAM_DSN": team_dsn, "RELAY_MOCK_URL": mock_server.url}
    home = machine(tmp_path, "a", mock_server.url, push="auto")
    ran = relay(home, "stream", "-p", "mock", "hello", env=env)
    assert ran.code == 0 and "warning" not in ran.err, ran.err
    status = json.loads(relay(home, "team", "status", "--json", env=env).out)
    assert status["pending"] == 0 and status["server"]["requests"] == 1 and status["last_error"] is None
    # the server goes away: the request still succeeds, a warning says the rows wait
    down = {**env, "RELAY_TEAM_DSN": "postgresql://nobody:secret-pw-down@127.0.0.1:9/relay"}
    ran = relay(home, "stream", "-p", "mock", "--no-cache", "again", env=down)
    assert ran.code == 0 and "team push failed (1 row stay queued" in ran.err.replace("rows", "row"), ran.err
    assert "secret-pw-down" not in ran.err
    ran = relay(home, "team", "push", env=down)
    assert ran.code == 7 and "relay: error: cannot connect to the team database" in ran.err
    ran = relay(home, "stream", "-p", "mock", "--no-cache", "third", env=env)  # back: both rows go
    assert ran.code == 0 and "warning" not in ran.err
    status = json.loads(relay(home, "team", "status", "--json", env=env).out)
    assert status["pending"] == 0 and status["server"]["requests"] == 3


def test_wrong_password_down_server_and_no_schema(
    tmp_path: Path, mock_server: Any, team_dsn: str, empty_dsn: str, relay: Any
) -> None:
    home = machine(tmp_path, "a", mock_server.url, push="auto")
    wrong = team_dsn.replace(ADMIN_PASSWORD, "not-the-Password-7q")
    env = {"RELAY_TEAM_DSN": wrong, "RELAY_MOCK_URL": mock_server.url}
    ran = relay(home, "stream", "-p", "mock", "hello", env=env)
    assert ran.code == 0 and "team push failed" in ran.err and "password authentication failed" in ran.err
    for args in (("team", "push"), ("team", "status"), ("cost", "--team"), ("--debug", "team", "push")):
        ran = relay(home, *args, env=env)
        assert ran.code == 3, (args, ran.err)
        assert "password authentication failed" in ran.err
        assert "not-the-Password-7q" not in ran.out + ran.err
    assert "Traceback" in ran.err  # --debug: the traceback, scrubbed
    ran = relay(home, "team", "status", env={"RELAY_TEAM_DSN": "postgresql://u:pw-xyz1@127.0.0.1:9/db"})
    assert ran.code == 7 and "pw-xyz1" not in ran.out + ran.err and "pending:   1 of 1" in ran.out
    ran = relay(home, "team", "push", env={"RELAY_TEAM_DSN": empty_dsn})
    assert ran.code == 3 and "relay team init" in ran.err
    assert relay(home, "team", "init", env={"RELAY_TEAM_DSN": empty_dsn}).code == 0
    assert "schema 1 is current" in relay(home, "team", "init", env={"RELAY_TEAM_DSN": empty_dsn}).err
    assert relay(home, "team", "push", env={"RELAY_TEAM_DSN": empty_dsn}).code == 0
    for path in home.rglob("*"):  # the password is in no file relay wrote
        if path.is_file() and path.name != "config.toml":  # the test wrote that one
            data = path.read_bytes()
            assert ADMIN_PASSWORD.encode() not in data and b"not-the-Password-7q" not in data, path
            assert path.stat().st_mode & 0o077 == 0, path


def test_tags_users_and_budgets(tmp_path: Path, mock_server: Any, team_dsn: str, relay: Any) -> None:
    env = {"RELAY_TEAM_DSN": team_dsn, "RELAY_MOCK_URL": mock_server.url}
    budgets = 'budget = 0.5\nuser_budget = 0.0001\nbudgets = { "ben" = 1 }\n'
    home = machine(tmp_path, "a", mock_server.url, extra=budgets)
    from relaycli.ledger import Ledger, LedgerRow

    with Ledger.open(home / "ledger.db") as ledger:
        common = dict(command="serve", profile="mock", host="h", protocol="openai", model_requested="gpt-4.1-mini")
        ledger.record(
            LedgerRow(
                **common,
                tag="cursor",
                prompt_tokens=10,
                completion_tokens=5,
                cost_usd=Decimal("0.01"),
                cost_billed=Decimal("0.01"),
            )
        )
        ledger.record(
            LedgerRow(
                **common,
                tag="aider",
                prompt_tokens=1,
                completion_tokens=1,
                cost_usd=Decimal("0.02"),
                cost_billed=Decimal("0.02"),
            )
        )
        ledger.record(
            LedgerRow(
                **common, prompt_tokens=1, completion_tokens=1, cost_usd=Decimal("0.04"), cost_billed=Decimal("0.04")
            )
        )
    assert relay(home, "team", "push", env=env).code == 0
    local = json.loads(relay(home, "cost", "--json", "--by", "tag", env=env).out)
    shared = json.loads(relay(home, "cost", "--team", "--json", "--by", "tag", env=env).out)
    assert {r["tag"]: r["cost_usd"] for r in local["rows"]} == {"cursor": "0.01", "aider": "0.02", "": "0.04"}
    assert local["rows"] == shared["rows"]
    assert [(b["scope"], b["name"], b["spent"]) for b in shared["budgets"]] == [
        ("team", "team", "0.07"),
        ("user", "ana", "0.07"),
        ("user", "ben", "0"),
    ]
    ran = relay(home, "cost", "--by", "user", env=env)
    assert ran.code == 2 and "--team" in ran.err
    assert "team OVER BUDGET: user 'ana' has spent" in relay(home, "cost", "--team", env=env).err


def test_without_the_driver(tmp_path: Path, relay: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    home = tmp_path / "h"
    ran = relay(home, "team", "status", env={"RELAY_TEAM_DSN": "postgresql://u@127.0.0.1:9/db"})
    assert ran.code == 3 and "pip install 'relaycli[team]'" in ran.err
