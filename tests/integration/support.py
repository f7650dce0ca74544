"""Helpers for integration tests: write a config file, read the ledger as `relay log --json` shows it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["RELAY_HOME"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def ledger_rows(env: dict[str, str], n: int = 1000) -> list[dict[str, Any]]:
    """Ledger rows, oldest first, as `relay log --json -n N` shows them: the command's own steps (the ledger
    at RELAY_HOME, none when it does not exist, its latest N rows, the same JSON), in this process rather
    than in a relay process of their own for every look. The command itself is run by the log tests."""
    from relaycli.ledger import Ledger
    from relaycli.log.view import log_rows
    from relaycli.paths import resolve

    path = resolve({"RELAY_HOME": env.get("RELAY_HOME") or os.environ["RELAY_HOME"]}).ledger
    if not path.exists():
        return []
    with Ledger.open(path) as ledger:
        rows = list(reversed(ledger.recent(n)))
    return list(json.loads(json.dumps({"rows": log_rows(rows)}, ensure_ascii=False))["rows"])
