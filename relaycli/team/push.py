"""``relay team push``: the local ledger's rows not yet in the team database, in batches.

Each batch is one transaction on the server: its names are added to ``names``, its rows are copied
(COPY) into a temporary table, inserted with ``ON CONFLICT (machine_id, row_id) DO NOTHING``, the rows
that were new are added to the ``hourly`` rollup in the same statement, and the machine's high-water mark
(the last local rowid pushed) moves. So a batch lands whole or not at all: a push killed or cut off midway
resumes after the last batch that committed, and a row sent twice is stored and counted once.

The high-water mark lives on the server, beside the rows it describes; the local ``team.json`` only keeps
a copy, so ``relay team status`` and the automatic push can tell without the server whether anything is
pending.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relaycli.team.migrations import KEYS, SUMS, TOTAL_KEYS

if TYPE_CHECKING:
    from relaycli.ledger import Ledger
    from relaycli.ledger.export import ExportRow
    from relaycli.team.store import TeamStore

__all__ = ["BATCH", "PushResult", "push"]

BATCH = 20_000
_OUTCOMES = {"ok": 0, "error": 1, "interrupted": 2, "truncated": 3}
_HEX = re.compile(r"[0-9a-f]{32}")
_COLUMNS = (
    "machine_id",
    "row_id",
    "ts",
    "user_id",
    "command_id",
    "profile_id",
    "model_requested_id",
    "model_answered_id",
    "tag_id",
    "currency",
    "outcome",
    "unpriced",
    "free",
    "cached",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "cost_billed",
    "saved_usd",
    "saved_billed",
)
# What each rollup sum adds for one row (the rows of a group are summed).
ROW_SUMS = {
    "requests": "1",
    "errors": "(outcome <> 0)::int",
    "prompt_tokens": "COALESCE(prompt_tokens, 0)",
    "completion_tokens": "COALESCE(completion_tokens, 0)",
    "cached_tokens": "COALESCE(cached_tokens, 0)",
    "cache_write_tokens": "COALESCE(cache_write_tokens, 0)",
    "prompt_reported": "(prompt_tokens IS NOT NULL)::int",
    "completion_reported": "(completion_tokens IS NOT NULL)::int",
    "prompt_unknown": "(prompt_tokens IS NULL AND NOT free)::int",
    "completion_unknown": "(completion_tokens IS NULL AND NOT free)::int",
    "cache_hits": "cached::int",
    "saved_unknown": "(cached AND saved_usd IS NULL)::int",
    "cost_usd": "COALESCE(cost_usd, 0)",
    "cost_n": "(cost_usd IS NOT NULL)::int",
    "cost_billed": "COALESCE(cost_billed, 0)",
    "billed_n": "(cost_billed IS NOT NULL)::int",
    "saved_usd": "COALESCE(saved_usd, 0)",
    "saved_usd_n": "(saved_usd IS NOT NULL)::int",
    "saved_billed": "COALESCE(saved_billed, 0)",
    "saved_billed_n": "(saved_billed IS NOT NULL)::int",
}
assert tuple(ROW_SUMS) == SUMS

_INSERT = (
    f"WITH new AS (INSERT INTO requests ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM incoming"
    " ON CONFLICT (machine_id, row_id) DO NOTHING RETURNING *),"
    f" rolled AS (INSERT INTO hourly (hour, {', '.join(KEYS)}, {', '.join(SUMS)})"
    f" SELECT date_trunc('hour', ts), {', '.join(KEYS)}, {', '.join(f'SUM({e})' for e in ROW_SUMS.values())}"
    f" FROM new GROUP BY 1, {', '.join(KEYS)}"
    f" ON CONFLICT (hour, {', '.join(KEYS)}) DO UPDATE SET "
    + ", ".join(f"{s} = hourly.{s} + EXCLUDED.{s}" for s in SUMS)
    + "),"
    f" totals AS (INSERT INTO hourly_totals (hour, {', '.join(TOTAL_KEYS)}, {', '.join(SUMS)})"
    f" SELECT date_trunc('hour', ts), {', '.join(TOTAL_KEYS[:-1])}, tag_id = %(bench)s,"
    f" {', '.join(f'SUM({e})' for e in ROW_SUMS.values())}"
    f" FROM new GROUP BY 1, {', '.join(TOTAL_KEYS[:-1])}, tag_id = %(bench)s"
    f" ON CONFLICT (hour, {', '.join(TOTAL_KEYS)}) DO UPDATE SET "
    + ", ".join(f"{s} = hourly_totals.{s} + EXCLUDED.{s}" for s in SUMS)
    + ") SELECT COUNT(*) FROM new"
)


@dataclass(frozen=True, slots=True)
class PushResult:
    sent: int  # rows sent in this push
    new: int  # of them, rows the server did not have yet
    batches: int
    pushed_rowid: int  # the high-water mark after this push
    pending: int  # rows still to push (more than ``max_rows`` were waiting)


def row_uuid(row_id: str) -> str:
    """The ledger's row id (32 hex digits) as a uuid; any other id is hashed to one, the same way each time."""
    return row_id if _HEX.fullmatch(row_id) else hashlib.md5(row_id.encode()).hexdigest()


def _unpriced(row: ExportRow, free: bool) -> int:
    if row.cost_usd is not None or free:
        return 0
    return 2 if row.prompt_tokens is None or row.completion_tokens is None else 1


def register(store: TeamStore, machine_key: str, label: str) -> tuple[int, int]:
    """This machine's id on the server and its high-water mark (registering it the first time)."""
    with store.guard("register this machine in"), store.conn.cursor() as cur:
        cur.execute(
            "INSERT INTO machines (machine_key, label) VALUES (%s, %s) ON CONFLICT (machine_key) DO NOTHING",
            (machine_key, label),
        )
        cur.execute("SELECT id, pushed_rowid FROM machines WHERE machine_key = %s", (machine_key,))
        machine, mark = cur.fetchone()
    store.conn.commit()
    return int(machine), int(mark)


def _names(store: TeamStore, names: set[str]) -> dict[str, int]:
    ordered = sorted(names)  # the same order in every process: two pushes adding names never deadlock
    with store.conn.cursor() as cur:
        cur.execute(
            "INSERT INTO names (name) SELECT unnest(%s::text[]) ORDER BY 1 ON CONFLICT (name) DO NOTHING", (ordered,)
        )
        cur.execute("SELECT name, id FROM names WHERE name = ANY(%s)", (ordered,))
        return dict(cur.fetchall())


def _send(store: TeamStore, machine: int, user: str, rows: list[ExportRow]) -> int:
    """One batch in the current transaction; the number of rows that were new."""
    names = {user, "bench"}
    for r in rows:
        names.update(n for n in (r.command, r.profile, r.model_requested, r.model_answered, r.tag) if n is not None)
    ids = _names(store, names)
    user_id = ids[user]
    with store.conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE requests) ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY incoming ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for r in rows:
                free = r.outcome == "error" and r.prompt_tokens is None and r.completion_tokens is None
                free = free and r.ttft_ms is None
                copy.write_row(
                    (
                        machine,
                        row_uuid(r.id),
                        r.ts,
                        user_id,
                        ids[r.command],
                        ids[r.profile],
                        ids[r.model_requested],
                        ids[r.model_answered] if r.model_answered is not None else 0,
                        ids[r.tag] if r.tag is not None else 0,
                        r.currency,
                        _OUTCOMES.get(r.outcome, 1),
                        _unpriced(r, free),
                        free,
                        bool(r.cached),
                        r.prompt_tokens,
                        r.completion_tokens,
                        r.cached_tokens,
                        r.cache_write_tokens,
                        r.cost_usd,
                        r.cost_billed,
                        r.saved_usd if r.cached else None,
                        r.saved_billed if r.cached else None,
                    )
                )
        cur.execute(_INSERT, {"bench": ids["bench"]})
        (new,) = cur.fetchone()
        return int(new)


def push(
    ledger: Ledger,
    store: TeamStore,
    *,
    machine_key: str,
    label: str,
    user: str,
    batch: int = BATCH,
    max_rows: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> PushResult:
    """Send the rows after the server's high-water mark for this machine, ``batch`` at a time (at most
    ``max_rows`` in all, when given). ``on_batch(sent so far, new so far)`` is called after each commit."""
    from relaycli.ledger.export import count_after, last_rowid, rows_after

    machine, mark = register(store, machine_key, label)
    fresh = last_rowid(ledger) < mark  # a ledger started afresh: send it all (rows already there are skipped)
    mark = 0 if fresh else mark
    sent = new = batches = 0
    while max_rows is None or sent < max_rows:
        size = batch if max_rows is None else min(batch, max_rows - sent)
        with store.guard("push to"):
            with store.conn.cursor() as cur:  # one push per machine at a time: the others wait, then go on
                cur.execute("SELECT pushed_rowid FROM machines WHERE id = %s FOR UPDATE", (machine,))
                (server_mark,) = cur.fetchone()
            mark = mark if fresh else max(mark, int(server_mark))
            rows = rows_after(ledger, mark, size)
            if not rows:
                store.conn.rollback()
                break
            top = rows[-1].rowid
            added = _send(store, machine, user, rows)
            with store.conn.cursor() as cur:
                cur.execute(
                    "UPDATE machines SET pushed_rowid = %s, pushed_rows = pushed_rows + %s, last_push = now()"
                    " WHERE id = %s",
                    (top, added, machine),
                )
            store.conn.commit()
        mark, sent, new, batches = top, sent + len(rows), new + added, batches + 1
        if on_batch is not None:
            on_batch(sent, new)
    return PushResult(sent, new, batches, mark, count_after(ledger, mark))
