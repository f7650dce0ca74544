"""`relay serve` as a user runs it, for the end-to-end tests: a real subprocess with its own RELAY_HOME and
config, in front of the built-in mock relay (and a scriptable loopback upstream), stopped by its PID."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RELAY_VARS

ALICE_KEY = "sk-client-alice-5f1e0c"  # a client key kept as its hash in the config
CI_KEY = "sk-client-ci-77ab03"  # a client key read from an env variable
CI_KEY_ENV = "RELAY_TEST_SERVE_CI_KEY"
UPSTREAM_KEY = "sk-upstream-LEAKY-9d2c4e"  # the echo profiles' own key: never to reach a serve client

START_TIMEOUT_S = 20.0


def hashed(key: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def keyed_config(mock_url: str, echo_url: str | None = None, *, extra: str = "") -> str:
    """The gateway's config: client keys (a hash and an env variable), routes for both protocols to the
    built-in mock profiles, two profiles on the mock that never retry (reached by their aliases
    ``once-gpt`` and ``once-claude``), and, with ``echo_url``, two profiles on the echoing upstream, keyed
    with ``UPSTREAM_KEY``."""
    routes = ['"claude-*" = "mock-anthropic"', '"gpt-*" = "mock"']
    profiles: list[str] = []
    for name, protocol, base, alias, model in (
        ("once-openai", "openai", f"{mock_url}/v1", "once-gpt", "gpt-4.1-mini"),
        ("once-anthropic", "anthropic", mock_url, "once-claude", "claude-haiku-4-5"),
    ):
        profiles += [
            f"[profiles.{name}]",
            f'base_url = "{base}"',
            f'protocol = "{protocol}"',
            'api_key = "unused"',
            f'aliases = {{ "{alias}" = "{model}" }}',
            "retries = 0",
            "breaker = false",
            "",
        ]
    if echo_url is not None:
        routes += ['"echo-openai*" = "echo-openai"', '"echo-anthropic*" = "echo-anthropic"']
        for protocol, base in (("openai", f"{echo_url}/v1"), ("anthropic", echo_url)):
            profiles += [
                f"[profiles.echo-{protocol}]",
                f'base_url = "{base}"',
                f'protocol = "{protocol}"',
                f'default_model = "echo-{protocol}"',
                f'api_key = "{UPSTREAM_KEY}"',
                "retries = 0",
                "breaker = false",
                "",
            ]
    return "\n".join(
        [
            'default_profile = "mock"',
            "",
            "[serve]",
            f'keys = {{ alice = "{hashed(ALICE_KEY)}", ci = {{ env = "{CI_KEY_ENV}" }} }}',
            extra,
            "",
            "[serve.routes]",
            *routes,
            "",
            *profiles,
        ]
    )


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RELAY_VARS}
    env.update(RELAY_HOME=str(home), PYTHONUNBUFFERED="1", **extra)
    return env


@dataclass
class Serve:
    """One running `relay serve`."""

    proc: subprocess.Popen[bytes]
    url: str
    home: Path
    log_path: Path
    key: str = ALICE_KEY
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    @property
    def ledger(self) -> Path:
        return self.home / "ledger.db"

    def access_log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_line(self, needle: str, timeout: float = 5.0) -> str:
        """The access log line holding ``needle`` (it is written as the request ends, after the client's last
        byte)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.access_log().splitlines() if needle in line]
            if found or time.monotonic() > deadline:
                assert len(found) == 1, found
                return found[0]
            time.sleep(0.02)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kw.pop("headers", {})}
        return self._http.get(self.url + path, headers=headers, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kw.pop("headers", {})}
        return self._http.post(self.url + path, json=body, headers=headers, **kw)

    def flush(self) -> None:
        """``GET /v1/usage`` writes every queued ledger row before it answers."""
        got = self.get("/v1/usage")
        assert got.status_code == 200, got.text

    def rows(self, tag: str | None = None) -> list[dict[str, Any]]:
        """Ledger rows (oldest first), read with sqlite3 after the queue is flushed; only ``tag``'s when given."""
        self.flush()
        return read_rows(self.ledger, tag)

    def wait_rows(self, tag: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """``tag``'s rows once there are ``count`` (a stream's row is queued about when its end is sent)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(tag)
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        self._http.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise


def read_rows(ledger: Path, tag: str | None = None) -> list[dict[str, Any]]:
    """The ledger's rows, read-only (a ledger being created, its table not there yet, has none)."""
    if not ledger.exists():
        return []
    query = "SELECT * FROM requests" + (" WHERE tag = ?" if tag is not None else "") + " ORDER BY rowid"
    db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5)
    try:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(query, (tag,) if tag is not None else ())]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        db.close()


def start_serve(home: Path, config: str, *args: str, env: dict[str, str] | None = None) -> Serve:
    """Write ``config`` to ``home`` and start `relay serve --port 0` there; returns once it printed its URL."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(config)
    path.chmod(0o600)
    log_path = home / "serve-stderr.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "relaycli", "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=subprocess_env(home, **(env or {})),
        )
    timer = threading.Timer(START_TIMEOUT_S, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
    finally:
        timer.cancel()
    if not line.startswith("http://"):
        proc.kill()
        proc.wait()
        raise AssertionError(f"relay serve did not start: {line!r}\n{log_path.read_text(errors='replace')}")
    return Serve(proc, line, home, log_path)


def sse_events(raw: str) -> list[dict[str, Any] | str]:
    """The data of each server-sent event (parsed JSON where it is)."""
    out: list[dict[str, Any] | str] = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(line[5:].lstrip() for line in block.split("\n") if line.startswith("data:"))
        if data:
            try:
                out.append(json.loads(data))
            except ValueError:
                out.append(data)
    return out
