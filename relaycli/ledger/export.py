"""Reading the ledger's rows in the order they were written, for the team ledger's push.

Only usage figures leave here: no prompt, answer, usage object, price table, host or request id. Money is
in pico-units as stored. Rows are read by ``rowid`` (SQLite's insertion order: the ledger never deletes
a request), so "the rows after N" is one index range.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from relaycli.ledger.store import Ledger

__all__ = ["ExportRow", "EXPORT_COLUMNS", "billed_after", "count_after", "last_rowid", "rows_after"]

EXPORT_COLUMNS = (
    "rowid",
    "id",
    "ts",
    "command",
    "profile",
    "model_requested",
    "model_answered",
    "tag",
    "currency",
    "outcome",
    "cached",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "cost_billed",
    "saved_usd",
    "saved_billed",
    "ttft_ms",
)


@dataclass(frozen=True, slots=True)
class ExportRow:
    rowid: int
    id: str
    ts: str
    command: str
    profile: str
    model_requested: str
    model_answered: str | None
    tag: str | None
    currency: str
    outcome: str
    cached: int
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    cache_write_tokens: int | None
    cost_usd: int | None  # pico-units
    cost_billed: int | None
    saved_usd: int | None
    saved_billed: int | None
    ttft_ms: float | None


_SELECT = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM requests"


def rows_after(ledger: Ledger, rowid: int, limit: int) -> list[ExportRow]:
    """Up to ``limit`` rows with a rowid above ``rowid``, in rowid order."""
    rows = ledger._query(f"{_SELECT} WHERE rowid > ? ORDER BY rowid LIMIT ?", (rowid, limit))
    return [ExportRow(*values) for values in rows]


def last_rowid(ledger: Ledger) -> int:
    ((value,),) = ledger._query("SELECT COALESCE(MAX(rowid), 0) FROM requests")
    return int(value)


def count_after(ledger: Ledger, rowid: int) -> int:
    ((value,),) = ledger._query("SELECT COUNT(*) FROM requests WHERE rowid > ?", (rowid,))
    return int(value)


def billed_after(ledger: Ledger, rowid: int, *, since: str, until: str, currency: str) -> Decimal:
    """What the rows after ``rowid`` with ``since <= ts < until`` were billed in ``currency`` (exact)."""
    ((value,),) = ledger._query(
        "SELECT COALESCE(SUM(cost_billed), 0) FROM requests WHERE rowid > ? AND ts >= ? AND ts < ? AND currency = ?",
        (rowid, since, until, currency),
    )
    return Decimal(int(value)).scaleb(-12)
