"""The response cache's file: ``cache.db``, an SQLite database beside relay's other cached state.

Kept on the ledger's habits (see ``relaycli.ledger.store``): WAL, a busy timeout, every write in one short
``BEGIN IMMEDIATE`` transaction, files 0600 in a 0700 directory, a schema version in ``PRAGMA
user_version`` (a file from a newer relay is refused, not rewritten). Values are JSON text and numbers,
never pickles. ``auto_vacuum = INCREMENTAL`` lets eviction give pages back, so the file stays under
``max_size``. Every SQLite or OS failure is raised as ``CacheUnavailable``; the service above turns it into
one warning and a miss.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from relaycli.cache.entry import Entry, Stats, TimedDelta, usage_from_json, usage_to_json
from relaycli.errors import RelayError
from relaycli.paths import private_dir, sqlite_files, tighten

__all__ = ["SCHEMA_VERSION", "CacheStore", "CacheTooNew", "CacheUnavailable", "DamagedEntry"]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x72656C79  # "rely": marks the file as relay's cache
BUSY_TIMEOUT_MS = 2_000  # a cache that stays locked longer is skipped for this run
PICO = 12

_SCHEMA = (
    """
    CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        model TEXT NOT NULL,
        model_answered TEXT,
        created REAL NOT NULL,
        last_used REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL,
        finish_reason TEXT,
        request_id TEXT,
        usage TEXT NOT NULL,
        deltas TEXT NOT NULL,
        ttft_ms REAL,
        latency_ms REAL,
        cost_usd TEXT,
        cost_billed TEXT,
        currency TEXT NOT NULL,
        prompt TEXT
    )
    """,
    "CREATE INDEX entries_last_used ON entries (last_used)",
    "CREATE INDEX entries_created ON entries (created)",
    # lookups that found an answer / asked the endpoint and stored one, and what the hits saved
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
_COLUMNS = (
    "key, profile, model, model_answered, created, last_used, hits, size, finish_reason, request_id, usage,"
    " deltas, ttft_ms, latency_ms, cost_usd, cost_billed, currency, prompt"
)


class CacheUnavailable(RelayError):
    """The cache file could not be opened, read or written (locked, damaged, full disk, no permission)."""


class CacheTooNew(CacheUnavailable):
    """The cache file was written by a newer relay."""


class DamagedEntry(CacheUnavailable):
    """One entry cannot be read back (its JSON, money or numbers are damaged); the rest of the file is fine,
    and storing a new answer to the same request replaces it."""


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune removed."""

    entries: int
    freed: int  # bytes the file shrank by


class CacheStore:
    """An open ``cache.db``. Safe for several threads (one lock) and many processes (SQLite's locks)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.Lock()
        # lookups read on a connection of their own: in WAL mode a reader never waits for the writer, so a
        # batch of answers being stored (relay serve, relay batch) does not hold up the requests looking
        self._reader: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> CacheStore:
        """Open (and with ``create``, make) the cache at ``path``; ``CacheUnavailable`` when that fails."""
        if not create and not path.exists():
            raise CacheUnavailable(f"no response cache at {path} yet")
        previous = os.umask(0o077)
        try:
            private_dir(path.parent)
            for existing in sqlite_files(path):
                tighten(existing)
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise _unavailable(path, exc, "open") from exc
        finally:
            os.umask(previous)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _prepare(conn, path)
        except CacheUnavailable:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise _unavailable(path, exc, "open") from exc
        finally:
            for created in sqlite_files(path):
                tighten(created)
        return cls(conn, path)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()
        with self._read_lock, contextlib.suppress(sqlite3.Error):
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # -- reads -----------------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        try:
            with self._read_lock:
                if self._reader is None:
                    self._reader = sqlite3.connect(
                        self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
                    )
                    self._reader.execute("PRAGMA query_only = ON")
                rows = self._reader.execute(f"SELECT {_COLUMNS} FROM entries WHERE key = ?", (key,)).fetchall()
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc, "read") from exc
        return self._entry(rows[0]) if rows else None

    def entries(self, *, limit: int | None = None, profile: str | None = None) -> list[Entry]:
        """Entries, the most recently stored first."""
        where = "WHERE profile = ?" if profile else ""
        params: list[object] = [profile] if profile else []
        sql = f"SELECT {_COLUMNS} FROM entries {where} ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._entry(row) for row in self._read(sql, tuple(params))]

    def stats(self) -> Stats:
        ((count, stored, oldest, newest),) = self._read(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created), MAX(created) FROM entries"
        )
        counters = dict(self._read("SELECT name, value FROM counters"))
        saved_billed = {
            name.removeprefix("saved_billed:"): _money(value)
            for name, value in counters.items()
            if name.startswith("saved_billed:")
        }
        return Stats(
            entries=int(count),
            stored_bytes=int(stored),
            file_bytes=self.file_bytes(),
            oldest=oldest,
            newest=newest,
            hits=int(counters.get("hits", 0)),
            misses=int(counters.get("misses", 0)),
            saved_usd=_money(counters.get("saved_usd", 0)),
            saved_unknown=int(counters.get("saved_unknown", 0)),
            saved_billed=saved_billed,
        )

    def file_bytes(self) -> int:
        """The size of the database and its write-ahead log on disk."""
        total = 0
        for name in (self.path, self.path.with_name(self.path.name + "-wal")):
            with contextlib.suppress(OSError):
                total += name.stat().st_size
        return total

    # -- writes ----------------------------------------------------------------------------------
    def put(self, entry: Entry, *, max_size: int, counted: bool) -> Pruned:
        """Store ``entry`` (replacing one with the same key), count a miss if ``counted``, then evict the least
        recently used other entries while the file is larger than ``max_size``."""
        return self.put_many([(entry, counted)], max_size=max_size)

    def put_many(self, entries: Sequence[tuple[Entry, bool]], *, max_size: int) -> Pruned:
        """``put`` for several entries (each with whether it counts as a miss), in one transaction."""
        if not entries:
            return Pruned(entries=0, freed=0)
        with self._write() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO entries ({_COLUMNS}) VALUES ({', '.join('?' * 18)})",
                [_values(entry) for entry, _ in entries],
            )
            misses = sum(1 for _, counted in entries if counted)
            if misses:
                _bump(conn, "misses", misses)
        return self.evict(max_size, keep=entries[-1][0].key)

    def hit(
        self, key: str, *, now: float, saved_usd: Decimal | None, saved_billed: Decimal | None, currency: str
    ) -> None:
        """Count a hit on ``key`` and what it saved, and mark the entry used."""
        with self._write() as conn:
            conn.execute("UPDATE entries SET hits = hits + 1, last_used = ? WHERE key = ?", (now, key))
            _bump(conn, "hits", 1)
            if saved_usd is None:
                _bump(conn, "saved_unknown", 1)
            else:
                _bump(conn, "saved_usd", _pico(saved_usd))
            if saved_billed is not None:
                _bump(conn, f"saved_billed:{currency}", _pico(saved_billed))

    def delete(self, *, profile: str | None = None, created_before: float | None = None) -> Pruned:
        """Remove every entry (or those of ``profile`` and/or stored before ``created_before``)."""
        parts: list[str] = []
        params: list[object] = []
        if profile is not None:
            parts.append("profile = ?")
            params.append(profile)
        if created_before is not None:
            parts.append("created < ?")
            params.append(created_before)
        where = f" WHERE {' AND '.join(parts)}" if parts else ""
        before = self.file_bytes()
        with self._write() as conn:
            removed = conn.execute(f"DELETE FROM entries{where}", tuple(params)).rowcount
        self._shrink()
        return Pruned(entries=removed, freed=max(before - self.file_bytes(), 0))

    def evict(self, max_size: int, *, keep: str | None = None) -> Pruned:
        """Remove the least recently used entries until the file is at most ``max_size`` bytes (with some room
        to spare, so the next entries do not evict again at once). The entry ``keep`` (the one just stored) is
        never a victim: storing an answer must not be undone by the eviction it causes."""
        if self._pages_bytes() <= max_size:
            return Pruned(entries=0, freed=0)  # the common case: one look, nothing to do
        removed = 0
        before = self.file_bytes()
        for _ in range(8):
            excess = self._pages_bytes() - max_size
            if excess <= 0:
                break
            target = excess + max_size // 10
            with self._write() as conn:
                victims = conn.execute(
                    "SELECT key, CAST(size AS INTEGER) FROM entries WHERE key IS NOT ?"
                    " ORDER BY last_used, rowid LIMIT 10000",
                    (keep,),
                ).fetchall()
                chosen: list[tuple[str]] = []
                freed = 0
                for key, size in victims:
                    if freed >= target and chosen:
                        break
                    chosen.append((key,))
                    freed += max(int(size or 0), 0)
                if not chosen:
                    break
                conn.executemany("DELETE FROM entries WHERE key = ?", chosen)
                removed += len(chosen)
            self._shrink()
        return Pruned(entries=removed, freed=max(before - self.file_bytes(), 0))

    def prune(self, *, expired_before: float, max_size: int) -> Pruned:
        """Remove expired entries, then the least recently used ones over ``max_size``."""
        expired = self.delete(created_before=expired_before)
        over = self.evict(max_size)
        return Pruned(entries=expired.entries + over.entries, freed=expired.freed + over.freed)

    # -- plumbing --------------------------------------------------------------------------------
    def _entry(self, row: tuple[Any, ...]) -> Entry:
        try:
            return _entry(row)
        except (ValueError, TypeError, KeyError, ArithmeticError):  # ArithmeticError: a Decimal that is not one
            raise DamagedEntry(
                f"an entry in the response cache {self.path} is damaged",
                hint="it is asked for again and replaced; `relay cache clear` starts a new cache",
            ) from None

    def _pages_bytes(self) -> int:
        ((size,),) = self._read("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        return int(size)

    def _shrink(self) -> None:
        """Give freed pages back to the file system and fold the write-ahead log into the file."""
        try:
            with self._lock:
                self._conn.execute("PRAGMA incremental_vacuum").fetchall()
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc, "write to") from exc

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc, "read") from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise _unavailable(self.path, exc, "write to") from exc


def _values(entry: Entry) -> tuple[Any, ...]:
    """An entry as the row it is stored as."""
    return (
        entry.key,
        entry.profile,
        entry.model,
        entry.model_answered,
        entry.created,
        entry.last_used,
        entry.hits,
        entry.size,
        entry.finish_reason,
        entry.request_id,
        usage_to_json(entry.usage),
        json.dumps([[d.offset_ms, d.kind, d.text] for d in entry.deltas], ensure_ascii=False),
        entry.ttft_ms,
        entry.latency_ms,
        _text(entry.cost_usd),
        _text(entry.cost_billed),
        entry.currency,
        entry.prompt,
    )


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Check the file is relay's cache of a version this relay knows; create the schema in a new one.

    Nothing is written to a file that is not relay's (another program's database keeps its journal mode)
    or is a newer relay's: the version, the application id and whether any table exists are read first,
    in one statement, so that they describe the same moment even while another relay creates the file."""
    ((version, app, has_tables),) = conn.execute(
        "SELECT (SELECT user_version FROM pragma_user_version),"
        " (SELECT application_id FROM pragma_application_id),"
        " EXISTS (SELECT 1 FROM sqlite_master)"
    ).fetchall()
    if version > SCHEMA_VERSION:
        raise CacheTooNew(
            f"the response cache {path} was written by a newer relay"
            f" (format {version}; this relay knows {SCHEMA_VERSION})",
            hint="upgrade relay, or `relay cache clear` to start a new cache",
        )
    if version == SCHEMA_VERSION and app == APPLICATION_ID:
        _no_sync(conn)
        return
    if version != 0 or has_tables:
        raise CacheUnavailable(f"{path} is not relay's response cache", hint=_REMEDY)
    conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect before the first table exists
    _wal(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        ((version, app, has_tables),) = conn.execute(  # another process may have made it meanwhile
            "SELECT (SELECT user_version FROM pragma_user_version),"
            " (SELECT application_id FROM pragma_application_id),"
            " EXISTS (SELECT 1 FROM sqlite_master)"
        ).fetchall()
        if version == 0 and not has_tables:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION or app != APPLICATION_ID:
            raise CacheUnavailable(f"{path} is not relay's response cache", hint=_REMEDY)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _wal(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.OperationalError):  # "locked" while another process switches it: fine
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
    _no_sync(conn)


def _no_sync(conn: sqlite3.Connection) -> None:
    """The cache can be thrown away (a damaged one is a warning and a miss), so it never waits for the disk
    (a setting of the connection, made on every open)."""
    conn.execute("PRAGMA synchronous = OFF")


_REMEDY = "`relay cache clear` starts a new cache (or move the file aside)"


def _unavailable(path: Path, exc: BaseException, doing: str) -> CacheUnavailable:
    text = str(exc).lower()
    if "disk is full" in text or getattr(exc, "errno", None) == 28:
        return CacheUnavailable(f"cannot {doing} the response cache {path}: the disk is full")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return CacheUnavailable(f"the response cache {path} is damaged ({exc})", hint=_REMEDY)
    return CacheUnavailable(f"cannot {doing} the response cache {path}: {exc}")


def _bump(conn: sqlite3.Connection, name: str, by: int) -> None:
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
        (name, by, by),
    )


def _entry(row: tuple[Any, ...]) -> Entry:
    (key, profile, model, answered, created, last_used, hits, size, finish, request_id, usage, deltas) = row[:12]
    ttft_ms, latency_ms, cost_usd, cost_billed, currency, prompt = row[12:]
    return Entry(
        key=key,
        profile=profile,
        model=model,
        model_answered=answered,
        created=float(created),
        last_used=float(last_used),
        hits=int(hits),
        size=int(size),
        finish_reason=finish,
        request_id=request_id,
        usage=usage_from_json(usage),
        deltas=tuple(TimedDelta(float(t), str(kind), str(text)) for t, kind, text in json.loads(deltas)),
        ttft_ms=ttft_ms,
        latency_ms=latency_ms,
        cost_usd=Decimal(cost_usd) if cost_usd is not None else None,
        cost_billed=Decimal(cost_billed) if cost_billed is not None else None,
        currency=currency,
        prompt=prompt,
    )


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _pico(amount: Decimal) -> int:
    return int(amount.scaleb(PICO).to_integral_value())


def _money(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-PICO)
