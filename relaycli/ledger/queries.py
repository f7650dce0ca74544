"""Read-side queries for cost reports and budgets, and the write behind ``relay cost --reprice``.

Grouping is done in SQLite, one query per local day (a range of UTC timestamps, so the ``ts`` index
serves it and time zones cost nothing per row). Small per-day sorts are much cheaper than one GROUP BY
over the whole ledger, and the days are shared out between a few read connections in threads (SQLite
releases the GIL while it works), which is what keeps a report on a million rows within a second.

Money comes back in pico-units as Python ints, so callers add them exactly and fast: plain SQL sums, or,
for a day where one group passes 9.2 million units and SQLite's 64-bit ``SUM`` overflows, the whole and
fractional halves summed apart (see :mod:`.store`) and joined in Python.

Only ``relay cost --reprice`` writes here (``update_costs``, one ``BEGIN IMMEDIATE`` transaction).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from relaycli.ledger.store import BUSY_TIMEOUT_MS, PICO, Ledger, _to_pico, storage_error

__all__ = [
    "CostUpdate",
    "DayGroup",
    "PriceKey",
    "UsageRow",
    "Where",
    "day_groups",
    "month_spend",
    "price_keys",
    "span",
    "unsplit_writes",
    "update_costs",
    "usage_for",
]

_UNIT = 10**PICO
MODEL = "COALESCE(model_answered, model_requested)"
# A request without a cost is unpriced because its model had no price ('1') or its usage is unknown ('2'),
# except a failed request that reported no usage at all: the endpoint refused it, and that bills nothing.
# A request the endpoint refused: an error, no usage reported, and nothing of an answer arrived (a stream that
# failed after content did cost tokens, just an unknown number of them).
_FREE_FAILURE = "(outcome = 'error' AND prompt_tokens IS NULL AND completion_tokens IS NULL AND ttft_ms IS NULL)"
_KIND = "CASE WHEN prompt_tokens IS NULL OR completion_tokens IS NULL THEN '2' ELSE '1' END"
_COUNTS = (
    "COUNT(*), SUM(outcome != 'ok'), SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens),"
    " SUM(cache_write_tokens)"
)
# How many rows reported each count, and how many did not (a free failure had nothing to report).
_REPORTED = (
    f"COUNT(prompt_tokens), COUNT(completion_tokens), SUM(prompt_tokens IS NULL AND NOT {_FREE_FAILURE}),"
    f" SUM(completion_tokens IS NULL AND NOT {_FREE_FAILURE})"
)
# Requests answered from the response cache, and those of them whose saving is unknown.
_CACHE = "SUM(cached), SUM(cached AND saved_usd IS NULL)"
# Money (cost, then what cache hits saved): plain sums, and the overflow-safe split sums (see .store) for a
# range where those overflow.
_MONEY_COLUMNS = ("cost_usd", "cost_billed", "saved_usd", "saved_billed")
_MONEY = ", ".join(f"SUM({c}), NULL" for c in _MONEY_COLUMNS)
_MONEY_SPLIT = ", ".join(f"SUM({c} / {_UNIT}), SUM({c} % {_UNIT})" for c in _MONEY_COLUMNS)


@dataclass(frozen=True, slots=True)
class Where:
    """Row filters besides time: profiles, models (asked or answered), billing currency, bench rows."""

    profiles: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    currency: str | None = None
    include_bench: bool = False

    def sql(self) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        if self.profiles:
            parts.append(f"profile IN ({', '.join('?' * len(self.profiles))})")
            params.extend(self.profiles)
        if self.models:
            marks = ", ".join("?" * len(self.models))
            parts.append(f"(model_answered IN ({marks}) OR model_requested IN ({marks}))")
            params.extend(self.models * 2)
        if self.currency:
            parts.append("currency = ?")
            params.append(self.currency)
        if not self.include_bench:
            parts.append("(tag IS NULL OR tag != 'bench')")
        return "".join(f" AND {p}" for p in parts), params


@dataclass(frozen=True, slots=True)
class DayGroup:
    """Sums over the rows of one range that share a model (or None), profile, currency and cost status.

    ``model`` is set when grouping by model, and otherwise only for unpriced rows (so they can be named).
    ``unpriced`` is 1 (no price), 2 (unknown usage) or None (priced, or a failure that reported no usage).
    Money is in pico-units, ``None`` when no row in the group has a cost (so ``cost_usd is not None``
    tells whether any row was priced). A cache hit costs 0 (so it is never unpriced); ``saved_*`` sum
    what the hits would have cost, ``None`` when none of them has a known saving, and ``saved_unknown``
    counts the hits whose saving is unknown.
    """

    model: str | None
    profile: str
    currency: str
    unpriced: int | None
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    cost_usd: int | None
    billed: int | None
    prompt_reported: int = 0  # rows that reported their count, and (below) rows that did not
    completion_reported: int = 0
    prompt_unknown: int = 0
    completion_unknown: int = 0
    cache_hits: int = 0
    saved_usd: int | None = None
    saved_billed: int | None = None
    saved_unknown: int = 0
    tag: str | None = None  # set when grouping by tag (``relay serve`` tags its rows with the client's name)
    user: str | None = None  # the team ledger's own keys: who, and on which machine
    machine: str | None = None


def _group_sql(by_model: bool, where: Where, money: str, by_tag: bool = False) -> str:
    clause, _ = where.sql()
    unpriced = f"CASE WHEN cost_usd IS NULL AND NOT {_FREE_FAILURE} THEN {_KIND}"
    if by_model:  # the model, and the reason a row is unpriced
        keys = f"{MODEL}, profile, currency, {unpriced} END"
    else:  # one key for both, NULL for most rows: fewer keys make the sort cheaper
        keys = f"NULL, profile, currency, {unpriced} || {MODEL} END"
    return (
        f"SELECT {keys}, {_COUNTS}, {money}, {_REPORTED}, {_CACHE}{', tag' if by_tag else ''}"
        f" FROM requests WHERE ts >= ? AND ts < ?{clause}"
        " GROUP BY 2, 3, 4" + (", 1" if by_model else "") + (", tag" if by_tag else "")
    )


def _joined(whole: int | None, pico: int | None) -> int | None:
    """A plain sum (``pico`` None), or the whole and fractional halves of a split one, in pico-units."""
    return whole if pico is None or whole is None else whole * _UNIT + pico


def _row(values: tuple[Any, ...]) -> DayGroup:
    model, profile, currency, unpriced, n, errors, prompt, completion, cached, written = values[:10]
    usd, billed, saved_usd, saved_billed = (_joined(*values[i : i + 2]) for i in range(10, 18, 2))
    prompt_reported, completion_reported, prompt_unknown, completion_unknown, hits, saved_unknown = values[18:24]
    tag = values[24] if len(values) > 24 else None
    if unpriced is not None and model is None:
        model, unpriced = unpriced[1:], unpriced[:1]
    return DayGroup(
        model,
        profile,
        currency,
        None if unpriced is None else int(unpriced),
        n,
        errors,
        prompt or 0,
        completion or 0,
        cached or 0,
        written or 0,
        usd,
        billed,
        prompt_reported=prompt_reported,
        completion_reported=completion_reported,
        prompt_unknown=prompt_unknown or 0,
        completion_unknown=completion_unknown or 0,
        cache_hits=hits or 0,
        saved_usd=saved_usd,
        saved_billed=saved_billed,
        saved_unknown=saved_unknown or 0,
        tag=tag,
    )


def workers_for(ranges: int) -> int:
    """Read connections for ``ranges`` day queries: one per core (at most 4), one for a short report."""
    return max(1, min(4, os.cpu_count() or 1, ranges // 8 or 1))


def day_groups(
    ledger: Ledger,
    ranges: Sequence[tuple[str, str]],
    *,
    by_model: bool,
    where: Where,
    workers: int | None = None,
    by_tag: bool = False,
) -> list[list[DayGroup]]:
    """For each UTC range ``[start, end)``, the groups of its rows (same order as ``ranges``); ``by_tag``
    also keeps rows of different tags apart."""
    _, params = where.sql()
    plain = _group_sql(by_model, where, _MONEY, by_tag)
    split = _group_sql(by_model, where, _MONEY_SPLIT, by_tag)
    results: list[list[DayGroup]] = [[] for _ in ranges]
    count = workers or workers_for(len(ranges))
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            conn = _reader(ledger)
        except sqlite3.Error as exc:
            failures.append(exc)
            return
        try:
            conn.execute("BEGIN")  # one snapshot for all of this worker's days
            for index in range(offset, len(ranges), count):
                bounds = (*ranges[index], *params)
                try:
                    rows = conn.execute(plain, bounds).fetchall()
                except sqlite3.OperationalError as exc:  # more than 9.2 million units in a day's group
                    if "overflow" not in str(exc):
                        raise
                    rows = conn.execute(split, bounds).fetchall()
                results[index] = [_row(values) for values in rows]
            conn.execute("COMMIT")
        except BaseException as exc:  # reported below, in the caller's thread
            failures.append(exc)
        finally:
            conn.close()

    if count == 1:
        work(0)
    else:
        threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        exc = failures[0]
        if isinstance(exc, sqlite3.Error):
            raise storage_error(ledger.path, exc, doing="read") from exc
        raise exc
    return results


def _reader(ledger: Ledger) -> sqlite3.Connection:
    conn = sqlite3.connect(ledger.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA query_only = 1")
    conn.execute("PRAGMA mmap_size = 1073741824")  # reads from the page cache without copying
    return conn


def span(ledger: Ledger, since: str | None = None, until: str | None = None) -> tuple[str, str] | None:
    """The first and last ``ts`` with ``since <= ts < until`` (two probes of the index), or None."""
    bounds = (since or "", until or "\uffff")
    first = ledger._query("SELECT ts FROM requests WHERE ts >= ? AND ts < ? ORDER BY ts LIMIT 1", bounds)
    if not first:
        return None
    last = ledger._query("SELECT ts FROM requests WHERE ts >= ? AND ts < ? ORDER BY ts DESC LIMIT 1", bounds)
    return first[0][0], last[0][0]


def month_spend(ledger: Ledger, *, profile: str, currency: str, since: str, until: str) -> Decimal:
    """What ``profile`` was billed in ``currency`` with ``since <= ts < until`` (bench rows included)."""
    sql = (
        f"SELECT SUM(cost_billed / {_UNIT}), SUM(cost_billed % {_UNIT}) FROM requests"
        " WHERE ts >= ? AND ts < ? AND profile = ? AND currency = ?"
    )
    ((whole, pico),) = ledger._query(sql, (since, until, profile, currency))
    return Decimal(whole or 0) + Decimal(pico or 0).scaleb(-PICO)


# --- repricing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceKey:
    """Rows that share the models asked and answered and the price they were costed with."""

    model_answered: str | None
    model_requested: str
    price_json: str | None
    requests: int


def price_keys(ledger: Ledger, *, since: str | None, until: str | None, where: Where) -> list[PriceKey]:
    clause, params = where.sql()
    rows = ledger._query(
        "SELECT model_answered, model_requested, price_json, COUNT(*) FROM requests"
        f" WHERE ts >= ? AND ts < ?{clause} GROUP BY 1, 2, 3",
        (since or "", until or "\uffff", *params),
    )
    return [PriceKey(*values) for values in rows]


UsageRow = tuple[int, int | None, int | None, int | None, int | None, int | None, str, str | None, str, int]
"""``(rowid, prompt, completion, cached_tokens, cache_write, cache_write_1h, protocol, usage_raw, per_usd,
cached)``; ``cached`` is 1 for a request answered from the response cache."""
_USAGE = (
    "rowid, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, cache_write_1h_tokens,"
    " protocol, usage_raw, per_usd, cached"
)


def usage_for(ledger: Ledger, key: PriceKey, *, since: str | None, until: str | None, where: Where) -> list[UsageRow]:
    """The usage (a ``UsageRow``) of the rows under ``key``."""
    clause, params = where.sql()
    return ledger._query(
        f"SELECT {_USAGE} FROM requests WHERE model_answered IS ? AND model_requested = ? AND price_json IS ?"
        f" AND ts >= ? AND ts < ?{clause}",
        (key.model_answered, key.model_requested, key.price_json, since or "", until or "\uffff", *params),
    )


def unsplit_writes(
    ledger: Ledger, *, since: str | None, until: str | None, where: Where
) -> list[tuple[str | None, str, str | None, UsageRow]]:
    """``(model_answered, model_requested, price_json, usage)`` of the rows with cache writes whose 1-hour
    part was never stored (recorded before the ledger kept it apart)."""
    clause, params = where.sql()
    rows = ledger._query(
        f"SELECT model_answered, model_requested, price_json, {_USAGE} FROM requests"
        f" WHERE cache_write_tokens > 0 AND cache_write_1h_tokens IS NULL AND ts >= ? AND ts < ?{clause}",
        (since or "", until or "\uffff", *params),
    )
    return [(answered, requested, price, tuple(usage)) for answered, requested, price, *usage in rows]


@dataclass(frozen=True, slots=True)
class CostUpdate:
    """A row's costs at a new price. A row answered from the response cache keeps its cost of 0 and gets
    the new price's cost as its saving (``saved_*``); every other row saves nothing (``None``)."""

    rowid: int
    price_source: str | None
    price_json: str | None
    cost_usd: Decimal | None
    cost_billed: Decimal | None
    saved_usd: Decimal | None = None
    saved_billed: Decimal | None = None
    cache_write_1h: int | None = None  # None leaves the stored count


def update_costs(ledger: Ledger, updates: Sequence[CostUpdate]) -> None:
    """Write each update to its row, in one transaction."""
    values = [
        (
            u.price_source,
            u.price_json,
            _to_pico(u.cost_usd),
            _to_pico(u.cost_billed),
            _to_pico(u.saved_usd),
            _to_pico(u.saved_billed),
            u.cache_write_1h,
            u.rowid,
        )
        for u in updates
    ]
    try:
        with ledger._write() as conn:
            conn.executemany(
                "UPDATE requests SET price_source = ?, price_json = ?, cost_usd = ?, cost_billed = ?,"
                " saved_usd = ?, saved_billed = ?, cache_write_1h_tokens = COALESCE(?, cache_write_1h_tokens)"
                " WHERE rowid = ?",
                values,
            )
    except sqlite3.Error as exc:
        raise storage_error(ledger.path, exc, doing="write to") from exc


def latencies(
    ledger: Ledger, *, since: str | None, until: str | None, where: Where
) -> list[tuple[str, str, float | None, float | None]]:
    """``(model, profile, latency_ms, ttft_ms)`` of every successful live request (cache hits left out:
    they took no time at the endpoint) with ``since <= ts < until``."""
    extra, params = where.sql()
    sql = (
        "SELECT COALESCE(model_answered, model_requested), profile, latency_ms, ttft_ms FROM requests"
        " WHERE ts >= ? AND ts < ? AND outcome = 'ok' AND NOT cached" + extra
    )
    return [tuple(row) for row in ledger._query(sql, (since or "", until or "\uffff", *params))]
