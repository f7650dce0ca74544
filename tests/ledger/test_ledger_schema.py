"""The ledger's schema, migrations and refusal of databases written by a newer relay."""

from __future__ import annotations

import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.errors import RelayError
from relaycli.ledger import MIGRATIONS, SCHEMA_VERSION, Ledger, LedgerError, LedgerTooNew

EXPECTED_COLUMNS = [
    # (name, declared type, not null, default)
    ("id", "TEXT", 1, None),
    ("ts", "TEXT", 1, None),
    ("command", "TEXT", 1, None),
    ("profile", "TEXT", 1, None),
    ("host", "TEXT", 1, None),
    ("protocol", "TEXT", 1, None),
    ("model_requested", "TEXT", 1, None),
    ("model_answered", "TEXT", 0, None),
    ("prompt_tokens", "INTEGER", 0, None),
    ("completion_tokens", "INTEGER", 0, None),
    ("cached_tokens", "INTEGER", 0, None),
    ("cache_write_tokens", "INTEGER", 0, None),
    ("usage_raw", "TEXT", 0, None),
    ("price_source", "TEXT", 0, None),
    ("price_json", "TEXT", 0, None),
    ("cost_usd", "INTEGER", 0, None),
    ("cost_billed", "INTEGER", 0, None),
    ("currency", "TEXT", 1, None),
    ("per_usd", "TEXT", 1, None),
    ("latency_ms", "REAL", 0, None),
    ("ttft_ms", "REAL", 0, None),
    ("retries", "INTEGER", 1, "0"),
    ("http_status", "INTEGER", 0, None),
    ("outcome", "TEXT", 1, None),
    ("error_class", "TEXT", 0, None),
    ("request_id", "TEXT", 0, None),
    ("finish_reason", "TEXT", 0, None),
    ("tag", "TEXT", 0, None),
    ("cache_write_1h_tokens", "INTEGER", 0, None),
    ("cached", "INTEGER", 1, "0"),
    ("saved_usd", "INTEGER", 0, None),
    ("saved_billed", "INTEGER", 0, None),
]


CONVERSATION_COLUMNS = [
    ("id", "INTEGER", 0, None),
    ("created", "TEXT", 1, None),
    ("updated", "TEXT", 1, None),
    ("title", "TEXT", 1, None),
    ("profile", "TEXT", 1, None),
    ("model", "TEXT", 1, None),
    ("system", "TEXT", 0, None),
]

MESSAGE_COLUMNS = [
    ("conversation_id", "INTEGER", 1, None),
    ("seq", "INTEGER", 1, None),
    ("role", "TEXT", 1, None),
    ("content", "TEXT", 1, None),
    ("ts", "TEXT", 1, None),
    ("superseded", "INTEGER", 1, "0"),
    ("profile", "TEXT", 0, None),
    ("model", "TEXT", 0, None),
    ("outcome", "TEXT", 0, None),
    ("request_id", "TEXT", 0, None),
    ("prompt_tokens", "INTEGER", 0, None),
    ("completion_tokens", "INTEGER", 0, None),
    ("cost_usd", "INTEGER", 0, None),
    ("cost_billed", "INTEGER", 0, None),
    ("currency", "TEXT", 0, None),
]


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_fresh_database_has_the_exact_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "ledger.db"
    Ledger.open(path).close()  # creates the parent directories too
    conn = _raw(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (4,)
    assert SCHEMA_VERSION == 4 == len(MIGRATIONS)
    columns = [(r[1], r[2], r[3], r[4]) for r in conn.execute("PRAGMA table_info(requests)")]
    assert columns == EXPECTED_COLUMNS
    columns = [(r[1], r[2], r[3], r[4]) for r in conn.execute("PRAGMA table_info(conversations)")]
    assert columns == CONVERSATION_COLUMNS
    columns = [(r[1], r[2], r[3], r[4]) for r in conn.execute("PRAGMA table_info(messages)")]
    assert columns == MESSAGE_COLUMNS
    primary = [r[1] for r in sorted(conn.execute("PRAGMA table_info(messages)"), key=lambda r: r[5]) if r[5]]
    assert primary == ["conversation_id", "seq"]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"requests", "schema_migrations", "conversations", "messages"}
    indexes = {r[0]: r[1] for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")}
    assert indexes["requests_ts"] == "CREATE INDEX requests_ts ON requests (ts)"
    assert indexes["conversations_updated"] == "CREATE INDEX conversations_updated ON conversations (updated)"
    assert any(name.startswith("sqlite_autoindex_requests") for name in indexes)  # UNIQUE(id)
    assert any(name.startswith("sqlite_autoindex_messages") for name in indexes)  # PRIMARY KEY
    applied = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
    assert applied == [
        (1, "0001_create_requests"),
        (2, "0002_conversations"),
        (3, "0003_cache_write_1h_tokens"),
        (4, "0004_cache_hits"),
    ]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_reopening_a_current_database_takes_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(path).close()
    blocker = _raw(path)
    blocker.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        started = time.perf_counter()
        with Ledger.open(path) as ledger:
            assert ledger.count() == 0
        assert time.perf_counter() - started < 1.0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_database_from_a_newer_relay_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(path).close()
    conn = _raw(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LedgerTooNew) as caught:
        Ledger.open(path)
    assert isinstance(caught.value, RelayError)
    assert "newer relay" in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_a_database_is_a_ledger_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError) as caught:
        Ledger.open(path)
    assert str(path) in str(caught.value)


def test_a_version_2_database_gains_the_one_hour_cache_write_column(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = _raw(path)
    for number, (name, statements) in enumerate(MIGRATIONS[:2], start=1):
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000Z')", (number, name))
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO requests (id, ts, command, profile, host, protocol, model_requested,"
        " cache_write_tokens, currency, per_usd, outcome)"
        " VALUES ('old', '2026-01-01T00:00:00.000Z', 'stream', 'p', 'h', 'anthropic', 'm', 300, 'USD',"
        " '1', 'ok')"
    )
    conn.close()
    with Ledger.open(path) as ledger:
        (row,) = ledger.recent(1)
    assert (row.id, row.cache_write_tokens, row.cache_write_1h_tokens) == ("old", 300, None)
    conn = _raw(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def _database_at(path: Path, version: int) -> None:
    """A ledger as a relay that knew the first ``version`` migrations left it."""
    conn = _raw(path)
    for number, (name, statements) in enumerate(MIGRATIONS[:version], start=1):
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000Z')", (number, name))
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


def test_a_version_3_database_keeps_its_rows_as_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    _database_at(path, 3)
    conn = _raw(path)
    conn.execute(
        "INSERT INTO requests (id, ts, command, profile, host, protocol, model_requested, prompt_tokens,"
        " completion_tokens, cost_usd, cost_billed, currency, per_usd, outcome)"
        " VALUES ('old', '2026-01-01T00:00:00.000Z', 'stream', 'p', 'h', 'openai', 'm', 1000, 20,"
        " 2500000000, 18250000000, 'CNY', '7.3', 'ok')"
    )
    conn.close()
    with Ledger.open(path) as ledger:
        (row,) = ledger.recent(1)
    assert (row.id, row.prompt_tokens, row.completion_tokens) == ("old", 1000, 20)
    assert (row.cost_usd, row.cost_billed) == (Decimal("0.0025"), Decimal("0.01825"))
    assert row.cached is False and row.saved_usd is None and row.saved_billed is None
    conn = _raw(path)
    assert conn.execute("SELECT cached, saved_usd, saved_billed FROM requests").fetchall() == [(0, None, None)]
    assert conn.execute("PRAGMA user_version").fetchone() == (4,)
    assert conn.execute("SELECT version, name FROM schema_migrations WHERE version = 4").fetchall() == [
        (4, "0004_cache_hits")
    ]
    conn.close()
