"""The usage ledger: one SQLite row per request, shared safely by concurrent relay processes.

The only place that imports sqlite3 is the ledger package. Rules (see WIRE.md):

* connect with ``isolation_level=None`` (no implicit transactions); ``PRAGMA busy_timeout`` first, then
  ``journal_mode=WAL`` and ``synchronous=NORMAL``;
* every write runs inside ``BEGIN IMMEDIATE`` -- a deferred transaction that reads and then writes fails
  at once with "database is locked" whatever the busy timeout;
* the schema is a named, ordered list of migrations keyed on ``PRAGMA user_version``. Opening a current
  database takes no lock; otherwise the migrations run inside ``BEGIN IMMEDIATE`` after re-reading the
  version, so concurrent first runs migrate exactly once. A database from a newer relay is refused.

Money is stored as INTEGER pico-units (10**-12 of a USD or of the billing currency), so SUM is exact and
fast; ``NULL`` means unpriced or unknown, never zero. To sum more than about 9.2 million units of
currency in one group without overflowing SQLite's 64-bit integers, sum the whole and fractional parts
apart (``SUM(x / 1000000000000)`` and ``SUM(x % 1000000000000)``), as :meth:`Ledger.totals` does.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from relaycli.errors import RelayError
from relaycli.ledger.migrations import MIGRATIONS, SCHEMA_VERSION
from relaycli.paths import private_dir, sqlite_files, tighten

__all__ = [
    "Ledger",
    "LedgerError",
    "storage_error",
    "LedgerRow",
    "LedgerTooNew",
    "LedgerTotals",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "utc_timestamp",
]

BUSY_TIMEOUT_MS = 30_000
PICO = 12  # money columns hold amount * 10**PICO
_UNIT = 10**PICO


class LedgerError(RelayError):
    """The ledger could not be opened, read or written."""


class LedgerTooNew(LedgerError):
    """The database was written by a newer relay whose schema this one does not know."""


def utc_timestamp(moment: datetime | None = None) -> str:
    """UTC ISO 8601 with millisecond precision and a ``Z``: ``2026-11-23T04:47:27.123Z``.

    A naive datetime is taken to be UTC. Strings in this form sort chronologically.
    """
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _new_id() -> str:
    return os.urandom(16).hex()  # 128 random bits, as uuid4().hex (without loading uuid and platform)


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRow:
    """One request. Token counts and money are ``None`` when unknown (NULL in the database).

    Holds no prompt or answer text and never a key.
    """

    id: str = field(default_factory=_new_id)
    ts: str = field(default_factory=utc_timestamp)
    command: str
    profile: str
    host: str
    protocol: str
    model_requested: str
    model_answered: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None  # the part of cache_write_tokens kept for an hour
    usage_raw: str | None = None  # the usage object as the endpoint reported it (JSON text)
    price_source: str | None = None
    price_json: str | None = None  # the USD-per-1M prices used, so the cost can be recomputed
    cost_usd: Decimal | None = None
    cost_billed: Decimal | None = None
    currency: str = "USD"
    per_usd: Decimal = Decimal(1)
    latency_ms: float | None = None
    ttft_ms: float | None = None
    retries: int = 0
    http_status: int | None = None
    outcome: str = "ok"  # 'ok' | 'error' | 'interrupted' | 'truncated'
    error_class: str | None = None
    request_id: str | None = None
    finish_reason: str | None = None
    tag: str | None = None  # e.g. 'bench'; NULL for ordinary requests
    cached: bool = False  # answered from the disk response cache: nothing sent, cost 0
    saved_usd: Decimal | None = None  # a cached row's cost at list price had it been sent (None: unknown)
    saved_billed: Decimal | None = None  # the same in the billing currency


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRow))
_MONEY = frozenset({"cost_usd", "cost_billed", "saved_usd", "saved_billed"})


@dataclass(frozen=True, slots=True)
class LedgerTotals:
    """Sums over a set of rows. Money is ``None`` when no row in the set was priced."""

    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: Decimal | None
    unpriced_requests: int


_INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM requests"


def _to_pico(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    return int(amount.scaleb(PICO).to_integral_value(rounding=ROUND_HALF_EVEN))


def _from_pico(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value).scaleb(-PICO)


def _split_sum(whole: int | None, frac: int | None) -> Decimal | None:
    if whole is None or frac is None:
        return None
    return Decimal(whole) + Decimal(frac).scaleb(-PICO)


class Ledger:
    """An open ledger database. Use :meth:`open`; close it, or use it as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open (creating it and its directory if needed) and migrate the ledger at ``path``.

        The directory is made 0700 and the file with its ``-wal``/``-shm`` 0600 (it holds conversations);
        looser existing ones are tightened.
        """
        previous = os.umask(0o077)
        try:
            return cls._open(path)
        finally:
            os.umask(previous)
            for created in sqlite_files(path):
                tighten(created)

    @classmethod
    def _open(cls, path: Path) -> Ledger:
        try:
            private_dir(path.parent)
            for existing in sqlite_files(path):
                tighten(existing)
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise storage_error(path, exc, doing="open") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            _migrate(conn, path)
        except LedgerError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(path, exc, doing="use") from exc
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def record(self, row: LedgerRow) -> None:
        """Append ``row`` (one short ``BEGIN IMMEDIATE`` transaction)."""
        self.record_many([row])

    def record_many(self, rows: list[LedgerRow]) -> None:
        """Append ``rows`` in one ``BEGIN IMMEDIATE`` transaction (all or none)."""
        values = [[_to_db(name, getattr(row, name)) for name in COLUMNS] for row in rows]
        if not values:
            return
        try:
            with self._write() as conn:
                conn.executemany(_INSERT, values)
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, doing="write to") from exc
        except OverflowError as exc:  # an amount beyond what a 64-bit integer of pico-units holds (> $9.2M)
            raise LedgerError(
                f"Cannot write to the usage ledger {self.path}: an amount is too large to store ({exc})",
                hint="check the [prices] table for a price far too high",
            ) from exc

    def recent(self, limit: int = 20) -> list[LedgerRow]:
        """The latest ``limit`` rows, newest first."""
        rows = self._query(f"{_SELECT} ORDER BY ts DESC, rowid DESC LIMIT ?", (limit,))
        return [_row_from_db(values) for values in rows]

    def count(self) -> int:
        ((n,),) = self._query("SELECT COUNT(*) FROM requests")
        return int(n)

    def totals(self, *, since: str | None = None, until: str | None = None) -> LedgerTotals:
        """Sums over rows with ``since <= ts < until`` (ISO prefixes such as ``2026-11`` work)."""
        sql = (
            "SELECT COUNT(*), COALESCE(SUM(outcome != 'ok'), 0),"
            " COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            " COALESCE(SUM(cached_tokens), 0),"
            f" SUM(cost_usd / {_UNIT}), SUM(cost_usd % {_UNIT}),"
            " COALESCE(SUM(cost_usd IS NULL), 0)"
            " FROM requests WHERE ts >= ? AND ts < ?"
        )
        ((n, errors, prompt, completion, cached, whole, frac, unpriced),) = self._query(
            sql, (since or "", until or "\uffff")
        )
        return LedgerTotals(
            requests=n,
            errors=errors,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            cost_usd=_split_sum(whole, frac),
            unpriced_requests=unpriced,
        )

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise storage_error(self.path, exc, doing="read") from exc


def _to_db(name: str, value: Any) -> Any:
    """A :class:`LedgerRow` field as stored: money in pico-units, ``per_usd`` as text, ``cached`` as 0/1."""
    if name in _MONEY:
        return _to_pico(value)
    if name == "per_usd":
        return str(value)
    if name == "cached":
        return int(bool(value))
    return value


def _row_from_db(values: tuple[Any, ...]) -> LedgerRow:
    data = dict(zip(COLUMNS, values, strict=True))
    for name in _MONEY:
        data[name] = _from_pico(data[name])
    data["per_usd"] = Decimal(data["per_usd"])
    data["cached"] = bool(data["cached"])
    return LedgerRow(**data)


def disk_full(path: Path, exc: BaseException) -> bool:
    """Whether ``exc`` (an SQLite or OS error on ``path``) comes from a full disk. SQLite reports a full disk
    as "database or disk is full", or as a plain "disk I/O error" when the WAL file cannot grow."""
    text = str(exc).lower()
    if "disk is full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return True
    if "disk i/o error" in text:
        try:
            return shutil.disk_usage(path.parent).free < 1024 * 1024
        except OSError:
            return False
    return False


def storage_error(path: Path, exc: BaseException, *, doing: str) -> LedgerError:
    """The LedgerError for an SQLite failure: a full disk is named as such; only a file that SQLite says is
    damaged gets the advice to move it aside."""
    if disk_full(path, exc):
        return LedgerError(
            f"Cannot {doing} the usage ledger {path}: the disk is full.",
            hint="free some space on that disk; nothing in the ledger was lost",
        )
    text = str(exc).lower()
    damaged = "malformed" in text or "not a database" in text or "corrupt" in text
    return LedgerError(
        f"Cannot {doing} the usage ledger {path}: {exc}.",
        hint="If the file is damaged, move it aside; relay starts a new one." if damaged else None,
    )


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL (a setting stored in the file, so usually already done).

    SQLite answers "database is locked" at once, without waiting for the busy timeout, when another
    connection holds a lock during the switch -- as happens when several processes open a brand-new
    ledger together -- so the switch is retried here, within the same time limit.
    """
    (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() == "wal":
        return
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _user_version(conn: sqlite3.Connection) -> int:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def _too_new(path: Path, version: int) -> LedgerTooNew:
    return LedgerTooNew(
        f"The usage ledger {path} was written by a newer relay (schema {version}; "
        f"this relay knows up to {SCHEMA_VERSION}).",
        hint="Upgrade relay, or point RELAY_HOME somewhere else.",
    )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = _user_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise _too_new(path, version)
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(conn)  # another process may have migrated while we waited
        if version > SCHEMA_VERSION:
            raise _too_new(path, version)
        for number, (name, statements) in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, utc_timestamp()),
            )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
