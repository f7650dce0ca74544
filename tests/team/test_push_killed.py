"""A push killed for real (SIGKILL, in the middle of its batches) and pushed again counts every row once:
the team's totals equal the machine's own, to the last decimal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = 3000


def test_a_push_killed_midway_then_pushed_again_changes_nothing(tmp_path: Path, team_dsn: str, relay: Any) -> None:
    import psycopg

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen_ledger import generate, settings  # the benchmarks' ledger generator: real rows, real prices
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    home = tmp_path / "machine"
    home.mkdir()
    generate(home / "ledger.db", ROWS, 2, seed=11)
    (home / "config.toml").write_text(settings().text + '\n[team]\nuser = "ana"\npush = "manual"\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RELAY_")},
        "RELAY_HOME": str(home),
        "RELAY_TEAM_DSN": team_dsn,
        "PYTHONPATH": str(ROOT),
    }
    push = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "team", "push", "--batch", "50"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with psycopg.connect(team_dsn, autocommit=True) as conn:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                ((sent,),) = conn.execute("SELECT count(*) FROM requests").fetchall()
                if sent >= 200 or push.poll() is not None:
                    break
                time.sleep(0.005)
        push.send_signal(signal.SIGKILL)
    finally:
        push.wait(timeout=30)
    if push.returncode == 0:
        pytest.fail("the push finished before it could be killed: make it longer")
    assert 0 < sent < ROWS
    again = relay(home, "team", "push", "--json", env={"RELAY_TEAM_DSN": team_dsn})
    assert again.code == 0, again.err
    assert json.loads(again.out)["pending"] == 0
    with psycopg.connect(team_dsn, autocommit=True) as conn:
        ((total,),) = conn.execute("SELECT count(*) FROM requests").fetchall()
    assert total == ROWS
    local = json.loads(relay(home, "cost", "--json", "--include-bench", env={}).out)
    team = json.loads(relay(home, "cost", "--team", "--json", "--include-bench", env={"RELAY_TEAM_DSN": team_dsn}).out)
    assert team["totals_by_currency"] == local["totals_by_currency"]
