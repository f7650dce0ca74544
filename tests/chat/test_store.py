"""Conversations in the ledger database: create, append, supersede, load, list; the upgrade from the
first schema."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from itertools import count
from pathlib import Path

from relaycli.ledger import Ledger, LedgerRow
from relaycli.ledger.conversations import Conversations, StoredMessage
from relaycli.ledger.migrations import MIGRATIONS, SCHEMA_VERSION


def clock() -> object:
    ticks = count()
    return lambda: f"2026-11-23T10:{next(ticks):02d}:00.000Z"


def answer(text: str, billed: str | None, currency: str = "CNY", **extra: object) -> StoredMessage:
    return StoredMessage(
        role="assistant",
        content=text,
        profile="relay",
        model="gpt-4.1",
        outcome="ok",
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=None if billed is None else Decimal(billed) / 7,
        cost_billed=None if billed is None else Decimal(billed),
        currency=currency,
        **extra,
    )


def test_create_append_load_and_list(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        store = Conversations(ledger, now=clock())  # type: ignore[arg-type]
        first = store.create(title="hello", profile="relay", model="gpt-4.1", system=None)
        stored = store.append(
            first.id,
            [StoredMessage(role="user", content="hello"), answer("hi!", "0.0007")],
            profile="relay",
            model="gpt-4.1",
            system=None,
        )
        assert [m.seq for m in stored] == [1, 2]
        second = store.create(title="other", profile="mock", model="m", system="be brief")
        store.append(second.id, [StoredMessage(role="user", content="q")], profile="mock", model="m", system="be brief")
        # the first goes on later, with another model and a retried answer
        store.append(
            first.id,
            [StoredMessage(role="user", content="more"), answer("x", None)],
            profile="relay",
            model="gpt-4.1-mini",
            system="terse",
        )
        store.supersede(first.id, 4)
        store.append(first.id, [answer("better", "0.0003")], profile="relay", model="gpt-4.1-mini", system="terse")

        assert store.latest() == store.get(first.id)
        info = store.get(first.id)
        assert info is not None and (info.model, info.system, info.title) == ("gpt-4.1-mini", "terse", "hello")
        assert info.updated > info.created
        messages = store.messages(first.id)
        assert [(m.seq, m.role, m.content, m.superseded) for m in messages] == [
            (1, "user", "hello", False),
            (2, "assistant", "hi!", False),
            (3, "user", "more", False),
            (4, "assistant", "x", True),
            (5, "assistant", "better", False),
        ]
        assert messages[1].cost_billed == Decimal("0.0007") and messages[1].currency == "CNY"
        assert messages[3].cost_billed is None and messages[1].prompt_tokens == 10

        recent = store.recent(10)
        assert [s.info.id for s in recent] == [first.id, second.id]
        assert recent[0].turns == 2 and recent[0].billed == {"CNY": Decimal("0.001")} and recent[0].unpriced == 1
        assert recent[1].turns == 1 and recent[1].billed == {} and recent[1].unpriced == 0
        assert store.get(999) is None and store.messages(999) == []


def test_an_empty_store() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as home, Ledger.open(Path(home) / "ledger.db") as ledger:
        store = Conversations(ledger)
        assert store.latest() is None and store.recent() == []


def test_a_first_schema_ledger_is_upgraded_with_its_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path, isolation_level=None)
    name, statements = MIGRATIONS[0]
    for statement in statements:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, ?, '2026-01-01T00:00:00.000Z')", (name,))
    conn.execute(
        "INSERT INTO requests (id, ts, command, profile, host, protocol, model_requested, currency,"
        " per_usd, outcome) VALUES ('a', 't', 'stream', 'mock', 'h', 'openai', 'm', 'USD', '1', 'ok')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with Ledger.open(path) as ledger:
        ledger.record(LedgerRow(command="chat", profile="mock", host="h", protocol="openai", model_requested="m"))
        assert ledger.count() == 2
        store = Conversations(ledger)
        made = store.create(title="t", profile="mock", model="m", system=None)
        assert store.get(made.id) == made
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()
