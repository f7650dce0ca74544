"""``limits.db``: the shared state of every profile's limits and circuit, beside the response cache.

One SQLite file for all relay processes of the user, kept on the ledger's habits: WAL, a busy timeout,
every change in one short ``BEGIN IMMEDIATE`` transaction (never held while a request runs), files 0600.
State is small JSON values per profile (the buckets, the circuit, a pause), plus two tables of rows that
belong to one process each: in-flight leases and waiting requests, both with their process id and an
expiry, so a killed process leaves nothing stuck. A file that is not a readable limits store is moved
aside and started afresh (``reset``): limits state is worth less than the request waiting on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from relaycli.errors import RelayError
from relaycli.paths import private_dir, sqlite_files, tighten

__all__ = ["LimitStore", "LimitsDamaged", "LimitsUnavailable", "Tx", "pid_alive"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5_000
_SCHEMA = (
    "CREATE TABLE state (profile TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (profile, name))",
    "CREATE TABLE leases (ticket TEXT PRIMARY KEY, profile TEXT NOT NULL, pid INTEGER NOT NULL, expires REAL NOT NULL)",
    "CREATE TABLE waiters (ticket TEXT PRIMARY KEY, profile TEXT NOT NULL, pid INTEGER NOT NULL,"
    " priority INTEGER NOT NULL, expires REAL NOT NULL)",
)


class LimitsUnavailable(RelayError):
    """The limits store could not be used (an unwritable directory, a lock held too long)."""


class LimitsDamaged(LimitsUnavailable):
    """The limits store turned out to be damaged while in use: it may be started afresh."""


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that id: not ours, so not alive for us
        return False
    except OSError:
        return True
    return True


class Tx:
    """One transaction's view of the store."""

    def __init__(self, conn: sqlite3.Connection, alive: Callable[[int], bool]) -> None:
        self._conn = conn
        self._alive = alive

    def all(self, profile: str) -> dict[str, Any]:
        """Every state value of ``profile`` by name (unreadable ones left out)."""
        found: dict[str, Any] = {}
        for name, value in self._conn.execute("SELECT name, value FROM state WHERE profile = ?", (profile,)):
            try:
                found[name] = json.loads(value)
            except ValueError:
                continue
        return found

    def get(self, profile: str, name: str) -> Any:
        row = self._conn.execute("SELECT value FROM state WHERE profile = ? AND name = ?", (profile, name)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    def put(self, profile: str, name: str, value: Any) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO state (profile, name, value) VALUES (?, ?, ?)", (profile, name, json.dumps(value))
        )

    def delete(self, profile: str, name: str | None = None) -> None:
        if name is None:
            self._conn.execute("DELETE FROM state WHERE profile = ?", (profile,))
            self._conn.execute("DELETE FROM leases WHERE profile = ?", (profile,))
            self._conn.execute("DELETE FROM waiters WHERE profile = ?", (profile,))
        else:
            self._conn.execute("DELETE FROM state WHERE profile = ? AND name = ?", (profile, name))

    # -- rows owned by one process -----------------------------------------------------------------
    def _sweep(self, table: str, profile: str, now: float) -> None:
        rows = self._conn.execute(f"SELECT ticket, pid, expires FROM {table} WHERE profile = ?", (profile,)).fetchall()
        gone = [(ticket,) for ticket, pid, expires in rows if expires < now or not self._alive(pid)]
        if gone:
            self._conn.executemany(f"DELETE FROM {table} WHERE ticket = ?", gone)

    def in_flight(self, profile: str, now: float) -> int:
        self._sweep("leases", profile, now)
        ((count,),) = self._conn.execute("SELECT COUNT(*) FROM leases WHERE profile = ?", (profile,)).fetchall()
        return int(count)

    def lease(self, ticket: str, profile: str, pid: int, expires: float) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO leases (ticket, profile, pid, expires) VALUES (?, ?, ?, ?)",
            (ticket, profile, pid, expires),
        )

    def release(self, ticket: str) -> None:
        self._conn.execute("DELETE FROM leases WHERE ticket = ?", (ticket,))

    def waiting_before(self, profile: str, priority: int, ticket: str, now: float) -> bool:
        """Whether a request of higher priority than ``priority`` is waiting for this profile."""
        self._sweep("waiters", profile, now)
        row = self._conn.execute(
            "SELECT 1 FROM waiters WHERE profile = ? AND priority > ? AND ticket != ? LIMIT 1",
            (profile, priority, ticket),
        ).fetchone()
        return row is not None

    def waiting(self, profile: str, now: float) -> dict[int, int]:
        """How many requests wait for this profile, by priority."""
        self._sweep("waiters", profile, now)
        rows = self._conn.execute(
            "SELECT priority, COUNT(*) FROM waiters WHERE profile = ? GROUP BY priority", (profile,)
        ).fetchall()
        return {int(priority): int(count) for priority, count in rows}

    def wait(self, ticket: str, profile: str, pid: int, priority: int, expires: float) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO waiters (ticket, profile, pid, priority, expires) VALUES (?, ?, ?, ?, ?)",
            (ticket, profile, pid, priority, expires),
        )

    def done_waiting(self, ticket: str) -> None:
        self._conn.execute("DELETE FROM waiters WHERE ticket = ?", (ticket,))


class LimitStore:
    def __init__(self, conn: sqlite3.Connection, path: Path, alive: Callable[[int], bool]) -> None:
        self._conn = conn
        self.path = path
        self._alive = alive
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, alive: Callable[[int], bool] = pid_alive) -> tuple[LimitStore, str | None]:
        """The store at ``path`` and, when the file there was unreadable and was started afresh, why."""
        try:
            return cls(_connect(path), path, alive), None
        except ValueError as exc:  # a newer relay's file: left alone
            raise LimitsUnavailable(f"the limits store {path} was {exc}") from exc
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):  # locked, or the disk: try again next time
                raise LimitsUnavailable(f"cannot open the limits store {path}: {exc}") from exc
            reason = f"{path} was unreadable ({exc}); its state was reset"
        except OSError as exc:
            raise LimitsUnavailable(f"cannot open the limits store {path}: {exc}") from exc
        for name in sqlite_files(path):
            with contextlib.suppress(OSError):
                name.replace(name.with_name(name.name + ".damaged"))
        try:
            return cls(_connect(path), path, alive), reason
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise LimitsUnavailable(f"cannot open the limits store {path}: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        try:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self._conn, self._alive)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise _unusable(f"cannot use the limits store {self.path}", exc) from exc

    def read(self, profile: str) -> dict[str, Any]:
        """Every state value of ``profile``, without a write lock (a reader never waits in WAL mode)."""
        try:
            with self._lock:
                return Tx(self._conn, self._alive).all(profile)
        except sqlite3.Error as exc:
            raise _unusable(f"cannot read the limits store {self.path}", exc) from exc

    def reopen(self) -> str:
        """Move a store found damaged while in use aside and start afresh; says what was done."""
        self.close()
        for name in sqlite_files(self.path):
            with contextlib.suppress(OSError):
                name.replace(name.with_name(name.name + ".damaged"))
        try:
            self._conn = _connect(self.path)
        except (sqlite3.Error, OSError, ValueError) as exc:
            raise LimitsUnavailable(f"cannot open the limits store {self.path}: {exc}") from exc
        return f"{self.path} was damaged; its state was reset"


def _connect(path: Path) -> sqlite3.Connection:
    previous = os.umask(0o077)
    try:
        private_dir(path.parent)
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    finally:
        os.umask(previous)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        ((version,),) = conn.execute("PRAGMA user_version").fetchall()
        if version > SCHEMA_VERSION:
            raise ValueError(f"written by a newer relay (format {version})")
        if version < SCHEMA_VERSION:
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
            conn.execute("BEGIN IMMEDIATE")
            try:
                ((version,),) = conn.execute("PRAGMA user_version").fetchall()
                if version == 0:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    finally:
        for name in sqlite_files(path):
            tighten(name)
    return conn


def _unusable(what: str, exc: sqlite3.Error) -> LimitsUnavailable:
    kind = LimitsDamaged if _damaged(exc) else LimitsUnavailable
    return kind(f"{what}: {exc}")


def _damaged(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("not a database", "malformed", "corrupt", "encrypted", "no such table"))
