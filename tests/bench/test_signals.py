"""SIGTERM during `relay bench` and SIGHUP during `relay ping --count`: the requests done are recorded, those
in flight recorded as interrupted, and relay exits 128 + the signal (143, 129)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import RELAY_VARS
from tests.integration.support import ledger_rows, write_config

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if k not in RELAY_VARS} | env | {"PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "relaycli", *args],
        env=full,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def quick(record: object, since_ns: int) -> bool:
    """A chat answer without directives (the quick prompt) that arrived after ``since_ns``, ended."""
    return (
        record.path.endswith("/chat/completions")  # type: ignore[attr-defined]
        and not record.directives  # type: ignore[attr-defined]
        and record.t_received_ns > since_ns  # type: ignore[attr-defined]
    )


def test_bench_records_what_it_did_and_exits_143(relay_env: dict[str, str], mock_server: object) -> None:
    signum, code = signal.SIGTERM, 143
    # The warm-up (seq -1) gets the last prompt, quick; measured seq 0, 2, ... the slow one: some are in flight.
    began = time.perf_counter_ns()  # the server's clock: it runs in this process
    proc = start(
        relay_env,
        "bench",
        "-p",
        "mock",
        "-n",
        "200",
        "--rate",
        "5",
        "--json",
        "--prompt",
        "[[mock: ttft=5]] slow",
        "--prompt",
        "quick",
    )
    # The signal once the server has answered two quick ones (the warm-up and seq 1), sent 0.2 s after seq 0,
    # whose answer takes 5 s: something done, something in flight.
    deadline = time.monotonic() + 30
    while sum(quick(r, began) for r in list(mock_server.log)) < 2:  # type: ignore[attr-defined]
        assert proc.poll() is None and time.monotonic() < deadline, "bench never got under way"
        time.sleep(0.01)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "internal error" not in err and "Traceback" not in err
    doc = json.loads(out)
    assert doc["self_check"]["interrupted"] is True
    assert doc["self_check"]["interrupted_by"] == signal.Signals(signum).name
    (target,) = doc["targets"]
    assert target["errors"].get("interrupted", 0) >= 1
    rows = ledger_rows(relay_env)
    assert {r["command"] for r in rows} == {"bench"}
    outcomes = [r["outcome"] for r in rows]
    assert outcomes.count("ok") >= 1 and outcomes.count("interrupted") == target["errors"]["interrupted"]
    assert len(rows) == target["requests"] + 1  # every measured request and the warm-up


def test_ping_count_records_the_completion_in_flight_and_exits_129(relay_env: dict[str, str]) -> None:
    write_config(
        relay_env,
        f'[profiles.slow]\nbase_url = "{relay_env["RELAY_MOCK_URL"]}/v1"\n'
        'default_model = "gpt-4.1-mini"\nheaders = { "X-Mock" = "ttft=1.0" }\n',
    )
    proc = start(relay_env, "ping", "-p", "slow", "--count", "100", "-i", "0.2", "--chat")
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first check is done, its completion too
    assert first.startswith("slow: seq=1 status=200") and "chat_ttft=" in first, first
    time.sleep(0.5)  # the second check's completion is under way
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 129, err
    assert "internal error" not in err and "Traceback" not in err
    assert "slow" in out  # what was measured is still shown
    rows = ledger_rows(relay_env)
    assert [(r["command"], r["outcome"]) for r in rows] == [("ping", "ok"), ("ping", "interrupted")]
