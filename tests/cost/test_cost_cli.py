"""`relay cost` as a user runs it: the real CLI in a subprocess, real `relay stream` runs before it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_relay
from tests.integration.support import ledger_rows, write_config

CONFIG = """\
[profiles.cheap]
base_url = "{url}/v1"
default_model = "gpt-4.1-mini"
billing = {{ currency = "CNY", per_usd = 1.0 }}
compare_to = {{ currency = "CNY", per_usd = 7.3 }}

[prices."gpt-4.1-mini"]
input = 0.5
output = 2
"""


def test_reports_real_streams(relay_env: dict[str, str]) -> None:
    write_config(relay_env, CONFIG.format(url=relay_env["RELAY_MOCK_URL"]))
    for prompt in ("one", "one two three", "[[mock: no_usage]] four"):
        assert run_relay("stream", "-p", "cheap", prompt, env=relay_env).code == 0
    assert run_relay("stream", "-p", "mock", "-m", "gpt-4.1", "five", env=relay_env).code == 0
    ran = run_relay("cost", "--by", "profile", "--json", env=relay_env)
    assert ran.code == 0 and ran.err == "", ran.err
    doc = json.loads(ran.out)
    rows = {r["profile"]: r for r in doc["rows"]}
    cheap = [r for r in ledger_rows(relay_env) if r["profile"] == "cheap"]
    known = [r for r in cheap if r["prompt_tokens"] is not None]
    usd = sum(Decimal(r["prompt_tokens"]) * Decimal("0.5") + Decimal(r["completion_tokens"]) * 2 for r in known) / 10**6
    assert rows["cheap"]["requests"] == 3 and rows["cheap"]["unpriced_requests"] == 1
    assert rows["cheap"]["prompt_tokens"] == sum(r["prompt_tokens"] for r in known) == 4
    assert Decimal(rows["cheap"]["cost_usd"]) == usd and Decimal(rows["cheap"]["billed"]) == usd
    assert Decimal(rows["cheap"]["direct_billed"]) == usd * Decimal("7.3")
    assert Decimal(rows["cheap"]["savings"]) == usd * Decimal("6.3")
    assert rows["mock"]["currency"] == "USD" and rows["mock"]["savings"] is None
    assert doc["unpriced"] == [{"model": "gpt-4.1-mini", "requests": 1, "reason": "unknown usage"}]
    ran = run_relay("cost", "--csv", "--by", "model", env=relay_env)
    assert ran.code == 0 and ran.out.splitlines()[0].startswith("type,model,requests")
    assert "1 request unpriced: gpt-4.1-mini (1, unknown usage)" in ran.err


def test_nothing_recorded_yet(relay_env: dict[str, str]) -> None:
    ran = run_relay("cost", env=relay_env)
    assert ran.code == 0 and ran.out == "" and "no requests recorded yet" in ran.err
    ran = run_relay("cost", "--json", env=relay_env)
    assert ran.code == 0 and json.loads(ran.out)["rows"] == []
    assert not Path(relay_env["RELAY_HOME"], "ledger.db").exists()


def test_a_ledger_from_a_newer_relay_is_named_not_a_crash(relay_env: dict[str, str]) -> None:
    assert run_relay("stream", "-p", "mock", "hi", env=relay_env).code == 0
    conn = sqlite3.connect(Path(relay_env["RELAY_HOME"], "ledger.db"))
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    ran = run_relay("cost", env=relay_env)
    assert ran.code == 1 and "written by a newer relay (schema 999" in ran.err and "Traceback" not in ran.err
    assert "Upgrade relay" in ran.err


def test_wrong_usage_exits_2(relay_env: dict[str, str]) -> None:
    for args in (
        ["--by", "week"],
        ["--json", "--csv"],
        ["--timezone", "Nowhere/Land"],
        ["--month", "2026-13"],
        ["--project", "-1"],
        ["--project", "2", "--by", "day"],
    ):
        ran = run_relay("cost", *args, env=relay_env)
        assert (ran.code, ran.out) == (2, ""), (args, ran.err)
        assert "relay: error:" in ran.err or "Usage:" in ran.err, (args, ran.err)


def test_cost_help_imports_nothing_heavy(tmp_path: Path) -> None:
    probe = (
        "import sys\nsys.argv = ['relay', 'cost', '--help']\nfrom relaycli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlite3', 'rich', 'httpx', 'zoneinfo')"
        " or m.startswith('relaycli.ledger')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--by" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"
