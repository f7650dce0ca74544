"""Start-up stays cheap: `relay --version` and `relay --help` import nothing heavy (CONTRACT.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import atexit, json, sys
OUT = sys.argv[1]
def dump():
    with open(OUT, "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(dump)
sys.argv = ["relay", *sys.argv[2:]]
from relaycli.entry import main
main()
"""


def imported(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 2), done.stderr
    return set(json.loads(out.read_text()))


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
        )
        == []
    )


def test_version_output() -> None:
    from relaycli import __version__

    done = subprocess.run([sys.executable, "-m", "relaycli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == f"relay {__version__}\n"
