"""`relay chat` conversations in the ledger database: create, append, load, list.

Tables ``conversations`` and ``messages`` (migration ``0002_conversations``). Writes go through the
ledger's ``BEGIN IMMEDIATE`` transactions, so several relay processes can share the file; a message's
``seq`` is allocated inside that transaction. Money is stored in pico-units, like the requests table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from relaycli.ledger.store import (
    _UNIT,
    Ledger,
    _from_pico,
    _split_sum,
    _to_pico,
    storage_error,
    utc_timestamp,
)

__all__ = ["ConversationInfo", "ConversationSummary", "Conversations", "StoredMessage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    """One message. Assistant messages carry what their request reported (``None``: unknown)."""

    role: str  # 'user' | 'assistant'
    content: str
    ts: str = field(default_factory=utc_timestamp)
    seq: int = 0  # given by the store
    superseded: bool = False
    profile: str | None = None
    model: str | None = None
    outcome: str | None = None
    request_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: Decimal | None = None
    cost_billed: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    id: int
    created: str
    updated: str
    title: str
    profile: str
    model: str
    system: str | None


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """A line of ``relay chat --list``. ``billed`` maps currency to the sum of the priced answers."""

    info: ConversationInfo
    turns: int
    billed: dict[str, Decimal]
    unpriced: int


_MESSAGE_COLUMNS = tuple(f.name for f in fields(StoredMessage))
_MONEY = frozenset({"cost_usd", "cost_billed"})
_INFO = "id, created, updated, title, profile, model, system"


class Conversations:
    """The conversations in an open :class:`Ledger`."""

    def __init__(self, ledger: Ledger, *, now: Callable[[], str] = utc_timestamp) -> None:
        self.ledger = ledger
        self.now = now

    def create(self, *, title: str, profile: str, model: str, system: str | None) -> ConversationInfo:
        ts = self.now()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (created, updated, title, profile, model, system) VALUES (?, ?, ?, ?, ?, ?)",
                (ts, ts, title, profile, model, system),
            )
            new_id = int(cursor.lastrowid or 0)
        return ConversationInfo(new_id, ts, ts, title, profile, model, system)

    def append(
        self, conversation_id: int, messages: Sequence[StoredMessage], *, profile: str, model: str, system: str | None
    ) -> list[StoredMessage]:
        """Add ``messages`` after the last one, and record the conversation's current settings."""
        stored: list[StoredMessage] = []
        with self._write() as conn:
            ((last,),) = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchall()
            for offset, message in enumerate(messages, start=1):
                values = {name: getattr(message, name) for name in _MESSAGE_COLUMNS}
                values["seq"] = int(last) + offset
                stored.append(StoredMessage(**values))
                row = [_to_pico(v) if k in _MONEY else int(v) if k == "superseded" else v for k, v in values.items()]
                conn.execute(
                    f"INSERT INTO messages (conversation_id, {', '.join(_MESSAGE_COLUMNS)})"
                    f" VALUES (?, {', '.join('?' * len(_MESSAGE_COLUMNS))})",
                    [conversation_id, *row],
                )
            conn.execute(
                "UPDATE conversations SET updated = ?, profile = ?, model = ?, system = ? WHERE id = ?",
                (self.now(), profile, model, system, conversation_id),
            )
        return stored

    def supersede(self, conversation_id: int, seq: int) -> None:
        """Mark an answer as replaced (``/retry``): not sent again, still counted in the cost."""
        with self._write() as conn:
            conn.execute(
                "UPDATE messages SET superseded = 1 WHERE conversation_id = ? AND seq = ?", (conversation_id, seq)
            )

    def get(self, conversation_id: int) -> ConversationInfo | None:
        rows = self._query(f"SELECT {_INFO} FROM conversations WHERE id = ?", (conversation_id,))
        return ConversationInfo(*rows[0]) if rows else None

    def latest(self) -> ConversationInfo | None:
        rows = self._query(f"SELECT {_INFO} FROM conversations ORDER BY updated DESC, id DESC LIMIT 1")
        return ConversationInfo(*rows[0]) if rows else None

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        rows = self._query(
            f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages WHERE conversation_id = ? ORDER BY seq",
            (conversation_id,),
        )
        out = []
        for row in rows:
            data: dict[str, Any] = dict(zip(_MESSAGE_COLUMNS, row, strict=True))
            for name in _MONEY:
                data[name] = _from_pico(data[name])
            data["superseded"] = bool(data["superseded"])
            out.append(StoredMessage(**data))
        return out

    def recent(self, limit: int = 20) -> list[ConversationSummary]:
        """The ``limit`` most recently used conversations, newest first, with turns and cost."""
        rows = self._query(
            f"SELECT {_INFO}, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id"
            " AND m.role = 'user' AND m.superseded = 0) FROM conversations c"
            " ORDER BY updated DESC, id DESC LIMIT ?",
            (limit,),
        )
        if not rows:
            return []
        ids = [row[0] for row in rows]
        costs = self._query(
            f"SELECT conversation_id, COALESCE(currency, 'USD'), SUM(cost_billed / {_UNIT}),"
            f" SUM(cost_billed % {_UNIT}), SUM(cost_billed IS NULL) FROM messages"
            f" WHERE role = 'assistant' AND conversation_id IN ({', '.join('?' * len(ids))})"
            " GROUP BY conversation_id, COALESCE(currency, 'USD')",
            tuple(ids),
        )
        billed: dict[int, dict[str, Decimal]] = {}
        unpriced: dict[int, int] = {}
        for conversation_id, currency, whole, frac, missing in costs:
            amount = _split_sum(whole, frac)
            if amount is not None:
                billed.setdefault(conversation_id, {})[currency] = amount
            unpriced[conversation_id] = unpriced.get(conversation_id, 0) + int(missing or 0)
        return [
            ConversationSummary(
                ConversationInfo(*row[:7]), int(row[7]), billed.get(row[0], {}), unpriced.get(row[0], 0)
            )
            for row in rows
        ]

    # -- plumbing: the ledger's own transactions and error rules -------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self.ledger._write() as conn:
                yield conn
        except sqlite3.Error as exc:
            raise storage_error(self.ledger.path, exc, doing="write to") from exc

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.ledger._query(sql, params)
