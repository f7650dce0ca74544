"""`relay serve --workers 2`: two processes share the port, and on SIGTERM each writes its queued ledger
rows (written off the request path) before it exits, so none is lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.serve.gateway import CI_KEY, CI_KEY_ENV, Serve, keyed_config, read_rows, start_serve, subprocess_env


def _two_workers(home: Path, mock_server: Any) -> Serve:
    return start_serve(
        home,
        keyed_config(mock_server.url),
        "--workers",
        "2",
        env={"RELAY_MOCK_URL": mock_server.url, CI_KEY_ENV: CI_KEY},
    )


def test_two_workers_answer_and_lose_no_row_when_stopped(tmp_path: Path, mock_server: Any) -> None:
    serve = _two_workers(tmp_path / "home", mock_server)
    try:
        for n in range(8):
            got = serve.post(
                "/v1/chat/completions",
                {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": f"worker question {n}"}]},
                headers={"X-Relay-Tag": "workers"},
            )
            assert got.status_code == 200, got.text
    finally:
        code = serve.stop(signal.SIGTERM)
    assert code == 143, serve.access_log()
    rows = read_rows(serve.ledger, "alice/workers")
    assert len(rows) == 8 and {row["outcome"] for row in rows} == {"ok"}
    assert "2 worker processes" in serve.access_log()


def _client_connections(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` held by process ``pid`` (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel spreads connections on Linux")
def test_connections_arriving_at_once_are_spread_over_both_workers(tmp_path: Path, mock_server: Any) -> None:
    """Each worker listens on a socket of its own (SO_REUSEPORT): a burst of clients is not all taken by
    the worker that wakes first (asyncio accepts every connection waiting at once)."""
    serve = _two_workers(tmp_path / "home", mock_server)
    host, port = serve.url.removeprefix("http://").rsplit(":", 1)
    workers = [int(p) for p in Path(f"/proc/{serve.proc.pid}/task/{serve.proc.pid}/children").read_text().split()]

    async def burst() -> list[int]:
        streams = await asyncio.gather(*(asyncio.open_connection(host, int(port)) for _ in range(32)))
        for _, writer in streams:
            writer.write(f"GET /health HTTP/1.1\r\nhost: {host}:{port}\r\n\r\n".encode())
        for reader, _ in streams:
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        held = [_client_connections(pid, int(port)) for pid in workers]  # while every connection is open
        for _, writer in streams:
            writer.close()
        return held

    try:
        held = asyncio.run(burst())
    finally:
        serve.stop(signal.SIGTERM)
    assert len(workers) == 2 and sum(held) == 32, held
    assert min(held) >= 4, held  # spread at random: fewer than 4 of 32 on one is about 1 run in 400,000


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_another_gateway_serves_is_refused(tmp_path: Path, mock_server: Any, workers: str) -> None:
    """Workers share their port with each other only: a second `relay serve` on a port a gateway with
    workers listens on exits 2 (it would otherwise take half its clients)."""
    env = {"RELAY_MOCK_URL": mock_server.url, CI_KEY_ENV: CI_KEY}
    first = _two_workers(tmp_path / "first", mock_server)
    try:
        port = first.url.rsplit(":", 1)[1]
        (tmp_path / "second").mkdir()
        (tmp_path / "second" / "config.toml").write_text(keyed_config(mock_server.url))
        second = subprocess.run(
            [sys.executable, "-m", "relaycli", "serve", "--port", port, "--workers", workers],
            env=subprocess_env(tmp_path / "second", **env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2, second.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
        assert first.get("/health").status_code == 200
    finally:
        first.stop(signal.SIGTERM)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_workers_stop_and_keep_their_rows_when_the_parent_is_killed(tmp_path: Path, mock_server: Any) -> None:
    """`kill -9` of the parent leaves no orphan serving the port: each worker is told to stop, and stops as
    on SIGTERM, writing its queued rows."""
    serve = _two_workers(tmp_path / "home", mock_server)
    workers = [int(p) for p in Path(f"/proc/{serve.proc.pid}/task/{serve.proc.pid}/children").read_text().split()]
    try:
        for n in range(4):
            got = serve.post(
                "/v1/chat/completions",
                {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": f"orphan question {n}"}]},
                headers={"X-Relay-Tag": "orphans"},
            )
            assert got.status_code == 200, got.text
    finally:
        serve.proc.kill()
        serve.proc.wait()
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    rows = read_rows(serve.ledger, "alice/orphans")
    assert len(rows) == 4 and {row["outcome"] for row in rows} == {"ok"}
