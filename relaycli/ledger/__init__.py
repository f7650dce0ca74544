"""The usage ledger (``ledger.db``, SQLite): the only package that imports sqlite3.

``store`` opens, migrates and writes; ``migrations`` holds the schema.
"""

from __future__ import annotations

from relaycli.ledger.migrations import MIGRATIONS, SCHEMA_VERSION
from relaycli.ledger.store import (
    Ledger,
    LedgerError,
    LedgerRow,
    LedgerTooNew,
    LedgerTotals,
    storage_error,
    utc_timestamp,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Ledger",
    "LedgerError",
    "LedgerRow",
    "LedgerTooNew",
    "LedgerTotals",
    "storage_error",
    "utc_timestamp",
]
