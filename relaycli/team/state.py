"""``team.json`` beside the ledger (0600): what this machine last knew of its pushes, so ``relay team
status`` and the automatic push can tell without the server whether rows are waiting. The server's own
high-water mark is the truth; this is a copy. It never holds the DSN: only its form without the password.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from relaycli.paths import replace_private

__all__ = ["PushState", "read_state", "write_state"]

FILE = "team.json"


@dataclass(frozen=True, slots=True)
class PushState:
    database: str | None = None  # postgresql://user@host:port/db (no password)
    pushed_rowid: int = 0  # the last local rowid the server has
    last_push: str | None = None  # when the last push ended (UTC, the ledger's timestamp form)
    last_error: str | None = None  # why the last push failed (already scrubbed), None after a success


def read_state(data_dir: Path) -> PushState:
    try:
        data = json.loads((data_dir / FILE).read_text(encoding="utf-8"))
        return PushState(
            database=data.get("database"),
            pushed_rowid=int(data.get("pushed_rowid", 0)),
            last_push=data.get("last_push"),
            last_error=data.get("last_error"),
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return PushState()


def write_state(data_dir: Path, state: PushState) -> None:
    """Replace ``team.json`` in one step (a temporary file renamed over it)."""
    replace_private(data_dir / FILE, json.dumps(asdict(state), indent=1) + "\n")
