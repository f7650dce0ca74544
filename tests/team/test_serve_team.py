"""A shared gateway lands in the team report: `relay serve` with a [team] table pushes its rows (tagged with
the client) to the team ledger, here at its stop, and the team report by tag shows them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_a_gateways_requests_reach_the_team_report_with_their_tags(
    tmp_path: Path, mock_server: Any, team_dsn: str, relay: Any
) -> None:
    home = tmp_path / "gateway"
    home.mkdir()
    (home / "config.toml").write_text('default_profile = "mock"\n[team]\nuser = "gateway"\npush = "auto"\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RELAY_")},
        "RELAY_HOME": str(home),
        "RELAY_MOCK_URL": mock_server.url,
        "RELAY_TEAM_DSN": team_dsn,
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), server.stderr.read() if server.stderr else ""
        for tag, prompt in (("editor", "one two"), ("agent", "three"), ("agent", "four five")):
            body = json.dumps({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": prompt}]})
            request = urllib.request.Request(
                f"{base}/v1/chat/completions",
                data=body.encode(),
                headers={"content-type": "application/json", "x-relay-tag": tag},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 143, err
    assert "team push failed" not in err
    report = relay(home, "cost", "--team", "--by", "tag", "--json", env={"RELAY_TEAM_DSN": team_dsn})
    assert report.code == 0, report.err
    rows = {row["tag"]: row["requests"] for row in json.loads(report.out)["rows"]}
    assert rows == {"editor": 1, "agent": 2}
