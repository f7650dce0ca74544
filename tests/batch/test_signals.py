"""Ctrl-C during `relay batch`: no new requests, those in flight finished (or, on a second Ctrl-C, cut short
and recorded as interrupted), every finished line written, a resume hint, exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import RELAY_VARS, run_relay
from tests.integration.support import ledger_rows

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


def wait_for_lines(path: Path, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never had {n} lines")


def test_ctrl_c_finishes_what_is_in_flight_writes_it_and_says_how_to_resume(
    relay_env: dict[str, str], mock_server: object, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"[[mock: ttft=0.3]] prompt {i}\n" for i in range(20)))
    out = tmp_path / "out.jsonl"
    proc = start(relay_env, "batch", "-p", "mock", str(prompts), "-c", "2", "-O", str(out))
    wait_for_lines(out, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "internal error" not in err
    assert "(stopped by Ctrl-C)" in err and f"relay batch {prompts} --resume {out}" in err
    lines = [json.loads(line) for line in out.read_text().splitlines()]  # every line whole
    assert 2 <= len(lines) < 20 and all(line["error"] is None for line in lines)  # in flight: finished
    assert [line["id"] for line in lines] == [str(n) for n in range(1, len(lines) + 1)]
    assert len(ledger_rows(relay_env)) == len(lines)  # nothing was sent that has no line
    again = run_relay("batch", "-p", "mock", str(prompts), "--resume", str(out), "-c", "8", env=relay_env)
    assert again.code == 0, again.err
    final = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in final] == [str(n) for n in range(1, 21)]
    assert all(line["error"] is None for line in final)


def test_a_second_signal_cuts_the_requests_in_flight_short(relay_env: dict[str, str], tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '{"id": "quick", "prompt": "quick"}\n'
        + "".join(f'{{"id": "long{i}", "prompt": "[[mock: token_delay=0.1]] long {i}"}}\n' for i in range(3))
    )
    out = tmp_path / "out.jsonl"
    proc = start(relay_env, "batch", "-p", "mock", str(prompts), "-c", "4", "-O", str(out))
    wait_for_lines(out, 1)
    time.sleep(0.3)  # the long answers are streaming
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and "3 interrupted" in err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["quick", "long0", "long1", "long2"]
    for line in lines[1:]:
        assert line["error"] == {"class": "Interrupted", "message": "interrupted", "exit_code": 143}
        assert line["text"]  # what arrived before it
    outcomes = sorted(row["outcome"] for row in ledger_rows(relay_env))
    assert outcomes == ["interrupted"] * 3 + ["ok"]


def test_a_request_still_waiting_for_its_first_byte_is_cut_short_with_its_row(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '{"id": "quick", "prompt": "quick"}\n{"id": "stalled", "prompt": "[[mock: ttft=30]] nothing for 30 s"}\n'
    )
    out = tmp_path / "out.jsonl"
    proc = start(relay_env, "batch", "-p", "mock", str(prompts), "-c", "2", "-O", str(out))
    wait_for_lines(out, 1)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # no grace: cut short now
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert time.monotonic() - started < 5  # not the 30 s the answer would take
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["quick", "stalled"]
    assert lines[1]["error"]["class"] == "Interrupted"
    outcomes = sorted(row["outcome"] for row in ledger_rows(relay_env))
    assert outcomes == ["interrupted", "ok"]  # the stalled request has its row too


def test_ctrl_c_ends_a_batch_whose_pipe_sends_no_more_lines(relay_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    full = {k: v for k, v in os.environ.items() if k not in RELAY_VARS} | relay_env | {"PYTHONUNBUFFERED": "1"}
    read, write = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "batch", "-p", "mock", "-c", "2", "-O", str(out)],
        env=full,
        stdin=read,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(read)
    try:
        os.write(write, b"quick one\n")  # then the pipe stays open, with nothing more
        wait_for_lines(out, 1)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        os.close(write)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 5  # not waiting for a line that never comes
