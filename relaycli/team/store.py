"""The connection to the team database and its schema: the only module that imports psycopg.

``connect`` opens one connection (UTC session time zone, a connect timeout and a statement timeout) and
turns every driver failure into a ``RelayError`` whose text never holds the DSN or its password:

* the driver is not installed -> ``TeamNotInstalled`` (exit 3, with the install command);
* the server cannot be reached, or the connection was lost or timed out -> ``TeamUnreachable`` (exit 7);
* authentication failed, the database or role does not exist -> ``TeamRefused`` (exit 3);
* the schema is missing or older than this relay -> ``TeamSchemaError`` (exit 3: ``relay team init``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from relaycli.errors import ConfigError, NetworkError, RelayError
from relaycli.team.dsn import Dsn, scrub_dsn
from relaycli.team.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "TeamNotInstalled",
    "TeamRefused",
    "TeamSchemaError",
    "TeamStore",
    "TeamUnreachable",
    "connect",
    "translate",
]

INSTALL = "pip install 'relaycli[team]'"
_LOCK = 0x72656C6179  # the advisory lock migrations run under ("relay")


class TeamNotInstalled(ConfigError):
    """The PostgreSQL driver (psycopg 3) is not installed."""


class TeamUnreachable(NetworkError):
    """The team database could not be reached, or the connection was lost."""


class TeamRefused(ConfigError):
    """The team database refused the connection (password, role, database) or a statement."""


class TeamSchemaError(ConfigError):
    """The team database has no relay schema yet, or one from a newer relay."""


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise TeamNotInstalled(
            "the team ledger needs the PostgreSQL driver psycopg 3, which is not installed",
            hint=f"install it with: {INSTALL}",
        ) from None
    return psycopg


def translate(exc: BaseException, dsn: Dsn, *, doing: str) -> RelayError:
    """The RelayError for a driver failure while ``doing`` something with the team database."""
    psycopg = _driver()
    text = scrub_dsn(" ".join(str(exc).split()), dsn) or type(exc).__name__
    where = f"the team database {dsn.display} (from {dsn.source})"
    lowered = text.lower()
    refused = (
        "password authentication failed",
        "no password supplied",
        "authentication failed",
        "does not exist",
        "permission denied",
        "no pg_hba.conf entry",
    )
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return TeamSchemaError(
            f"{where} has no relay team schema yet", hint="create it with `relay team init` (once per database)"
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return TeamRefused(f"cannot {doing} {where}: {text}", hint="ask the database's owner for access")
    if isinstance(exc, psycopg.OperationalError) and any(word in lowered for word in refused):
        return TeamRefused(
            f"cannot {doing} {where}: {text}",
            hint="check the user, password and database name in the DSN (or ~/.pgpass)",
        )
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return TeamUnreachable(f"cannot {doing} {where}: the server took too long ({text})")
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return TeamUnreachable(
            f"cannot {doing} {where}: {text}", hint="check that the server is up and reachable from here"
        )
    return TeamRefused(f"cannot {doing} {where}: {text}")


class TeamStore:
    """One open connection to the team database. Use :func:`connect`; close it or use ``with``."""

    def __init__(self, conn: Any, dsn: Dsn) -> None:
        self.conn = conn
        self.dsn = dsn

    def close(self) -> None:
        with suppress(Exception):  # closing a broken connection must not hide the error that broke it
            self.conn.close()

    def __enter__(self) -> TeamStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def guard(self, doing: str) -> Iterator[None]:
        """Driver failures inside become RelayErrors (the transaction is rolled back)."""
        psycopg = _driver()
        try:
            yield
        except psycopg.Error as exc:
            with suppress(psycopg.Error):
                self.conn.rollback()
            raise translate(exc, self.dsn, doing=doing) from None

    def query(self, sql: str, params: Any = None, *, doing: str = "read") -> list[tuple[Any, ...]]:
        with self.guard(doing), self.conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        self.conn.commit()
        return rows

    def version(self) -> int:
        """The schema version on the server (0: none yet)."""
        rows = self.query("SELECT to_regclass('relay_team_migrations') IS NOT NULL", doing="read the schema version of")
        if not rows[0][0]:
            return 0
        ((version,),) = self.query("SELECT COALESCE(MAX(version), 0) FROM relay_team_migrations")
        return int(version)

    def require_schema(self) -> None:
        version = self.version()
        if version == 0:
            raise TeamSchemaError(
                f"the team database {self.dsn.display} has no relay team schema yet",
                hint="create it with `relay team init` (once per database)",
            )
        if version > SCHEMA_VERSION:
            raise TeamSchemaError(
                f"the team database {self.dsn.display} was set up by a newer relay (schema {version}; this "
                f"relay knows up to {SCHEMA_VERSION})",
                hint="upgrade relay",
            )
        if version < SCHEMA_VERSION:
            raise TeamSchemaError(
                f"the team database {self.dsn.display} has an older relay schema ({version} of {SCHEMA_VERSION})",
                hint="migrate it with `relay team init`",
            )

    def migrate(self) -> list[str]:
        """Create or migrate the schema (under an advisory lock, so two at once migrate once); the names of
        the migrations applied."""
        applied: list[str] = []
        with self.guard("create the schema in"), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS relay_team_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM relay_team_migrations")
            (version,) = cur.fetchone()
            if version > SCHEMA_VERSION:
                self.conn.rollback()
                self.require_schema()
            for number, (name, statements) in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO relay_team_migrations (version, name) VALUES (%s, %s)", (number, name))
                applied.append(name)
        self.conn.commit()
        return applied


def connect(dsn: Dsn, *, timeout: float = 10, statement_timeout: float = 60) -> TeamStore:
    """A connection to the team database (``timeout``: seconds to connect; ``statement_timeout`` per
    statement)."""
    psycopg = _driver()
    try:
        conn = psycopg.connect(dsn.value, connect_timeout=max(2, round(timeout)), application_name="relay")
    except psycopg.Error as exc:
        raise translate(exc, dsn, doing="connect to") from None
    try:  # the DSN's own options (a search_path, ...) stay as they are
        conn.execute(
            "SELECT set_config('TimeZone', 'UTC', false), set_config('statement_timeout', %s, false)",
            (str(int(statement_timeout * 1000)),),
        )
        conn.commit()
    except psycopg.Error as exc:
        conn.close()
        raise translate(exc, dsn, doing="connect to") from None
    return TeamStore(conn, dsn)
