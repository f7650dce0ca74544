"""Start-up stays cheap: `relay --version` and `relay --help` import nothing heavy (CONTRACT.md), and an
answer replayed from the response cache imports no HTTP client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_relay

PROBE = """
import atexit, json, sys
OUT = sys.argv[1]
def dump():
    with open(OUT, "w") as f:
        json.dump(sorted(name for name, module in sys.modules.items() if module is not None), f)
atexit.register(dump)
sys.argv = ["relay", *sys.argv[2:]]
from relaycli.entry import main
main()
"""


def probe(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The modules loaded by the time `relay ARGS` exits, and what it wrote on stdout."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode in (0, 2), done.stderr
    return set(json.loads(out.read_text())), done.stdout


def imported(tmp_path: Path, *args: str) -> set[str]:
    return probe(tmp_path, *args)[0]


def heavy(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_version_imports_neither_typer_nor_httpx(tmp_path: Path) -> None:
    modules = imported(tmp_path, "--version")
    assert heavy(modules, "typer", "click", "httpx", "rich", "sqlite3", "platformdirs") == []


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["stream", "--help"],
        ["config", "--help"],
        [],
        ["chat", "--help"],
        ["cost", "--help"],
        ["bench", "--help"],
        ["ping", "--help"],
        ["serve", "--help"],
        ["team", "--help"],
    ],
)
def test_help_imports_no_httpx_sqlite_or_rich_live(tmp_path: Path, args: list[str]) -> None:
    modules = imported(tmp_path, *args)
    assert (
        heavy(
            modules,
            "httpx",
            "httpcore",
            "sqlite3",
            "_sqlite3",
            "rich.live",
            "rich.markdown",
            "tomli_w",
            "relaycli.core",
            "relaycli.ledger",
            "uvicorn",
            "relaycli.serve",
            "psycopg",
            "relaycli.team",
        )
        == []
    )


def test_version_output() -> None:
    from relaycli import __version__

    done = subprocess.run([sys.executable, "-m", "relaycli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == f"relay {__version__}\n"


def test_a_cache_hit_imports_no_http_client_and_sends_nothing(
    tmp_path: Path, mock_server: object, relay_env: dict[str, str]
) -> None:
    log: list[object] = mock_server.log  # type: ignore[attr-defined]
    prompt = "What does the cache keep?"
    before = len(log)
    first = run_relay("stream", "-p", "mock", prompt, env=relay_env)
    assert first.code == 0, first.err
    mock_server.wait_for_log(before + 1)  # type: ignore[attr-defined]  # the miss was sent and stored
    sent = len(log)
    modules, out = probe(tmp_path, "stream", "-p", "mock", prompt, env=relay_env)
    time.sleep(0.1)  # a request would be logged when its response ended
    assert out == first.out  # the stored answer, replayed
    assert len(log) == sent, "the cache hit sent a request"
    assert heavy(modules, "httpx", "httpcore", "relaycli.core.client") == []
    assert heavy(modules, "psycopg", "relaycli.team") == []  # no [team]: the team ledger is never loaded
    assert heavy(modules, "tomllib", "relaycli.config.checks") == []  # no config file: nothing to parse
    assert "relaycli.cache.service" in modules  # the answer did come through the cache
    assert heavy(modules, "typer", "click", "relaycli.cli") == []  # a plain stream line is read without typer
