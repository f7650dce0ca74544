"""The team ledger's tests run against a real PostgreSQL server: ``RELAY_TEST_POSTGRES_DSN`` (a superuser
DSN on a throwaway server, as ``.ci/run`` starts one), else a server this session starts itself
(``pgserver.py``), else they are skipped, saying why. With ``RELAY_REQUIRE_POSTGRES=1`` (CI) a skipped team
test fails instead. Each test gets a database of its own, copied from a template that already holds the
schema (``CREATE DATABASE ... TEMPLATE``: a few milliseconds)."""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.team import pgserver

HERE = Path(__file__).parent


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("RELAY_REQUIRE_POSTGRES") == "1" and HERE in Path(item.path).parents:
        report.outcome = "failed"
        report.longrepr = f"RELAY_REQUIRE_POSTGRES=1, but a team ledger test was skipped: {report.longrepr}"


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[str]:
    """A superuser DSN on a real server."""
    given = os.environ.get("RELAY_TEST_POSTGRES_DSN")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[test]')")
    if given:
        yield given
        return
    if pgserver.binaries() is None:
        pytest.skip("no PostgreSQL server: set RELAY_TEST_POSTGRES_DSN or apt-get install postgresql-15")
    folder = Path(tempfile.mkdtemp(prefix="relay-pg-"))
    try:
        yield pgserver.start(folder)
    finally:
        pgserver.stop(folder)


@pytest.fixture(scope="session")
def pg_template(pg_admin: str) -> str:
    """A database holding the current schema, to copy (one per test worker)."""
    import psycopg

    from relaycli.config.team import TeamSettings
    from relaycli.team.run import open_store

    name = f"relay_tpl_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    with open_store(TeamSettings(), {"RELAY_TEAM_DSN": with_database(pg_admin, name)}) as store:
        store.migrate()
    return name


_counter = iter(range(10**9))


@pytest.fixture
def team_dsn(pg_admin: str, pg_template: str) -> Iterator[str]:
    """A DSN of a fresh database with the team schema, dropped afterwards."""
    import psycopg

    name = f"{pg_template}_{next(_counter)}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield with_database(pg_admin, name)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_dsn(pg_admin: str) -> Iterator[str]:
    """A DSN of a fresh database without any schema."""
    import psycopg

    name = f"relay_empty_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_admin, name)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def relay(monkeypatch: pytest.MonkeyPatch) -> object:
    """Run relay in-process, as the console script does (the error boundary included): ``relay(home, *args,
    env={...})`` -> ``Ran``."""

    def run(home: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> Ran:
        from relaycli import cli

        with monkeypatch.context() as m:
            m.setenv("RELAY_HOME", str(home))
            for name, value in (env or {}).items():
                m.setenv(name, value)
            out, err = io.StringIO(), io.StringIO()
            m.setattr(sys, "stdout", out)
            m.setattr(sys, "stderr", err)
            m.setattr(sys, "stdin", io.StringIO(stdin))
            code = 0
            try:
                cli.run(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        return Ran(code, out.getvalue(), err.getvalue())

    return run
