"""Helpers for integration tests: write a config file, read the ledger as `relay log --json` shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_relay


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["RELAY_HOME"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def ledger_rows(env: dict[str, str], n: int = 1000) -> list[dict[str, Any]]:
    """Ledger rows, oldest first, read through the CLI."""
    ran = run_relay("log", "--json", "-n", str(n), env=env)
    assert ran.code == 0, ran.err
    return list(json.loads(ran.out)["rows"])
