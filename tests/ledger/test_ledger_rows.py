"""Writing and reading ledger rows: NULL is not 0, money is exact, writes are fast."""

from __future__ import annotations

import re
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.ledger import Ledger, LedgerError, LedgerRow, utc_timestamp


def _row(**changes: object) -> LedgerRow:
    base: dict[str, object] = {
        "command": "stream",
        "profile": "mock",
        "host": "127.0.0.1:8765",
        "protocol": "openai",
        "model_requested": "gpt-4.1",
    }
    base.update(changes)
    return LedgerRow(**base)  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Ledger.open(tmp_path / "ledger.db") as opened:
        yield opened


def test_round_trip_keeps_every_field(ledger: Ledger) -> None:
    row = _row(
        model_answered="gpt-4.1-2025-04-14",
        prompt_tokens=1200,
        completion_tokens=300,
        cached_tokens=1000,
        cache_write_tokens=0,
        usage_raw='{"prompt_tokens":1200}',
        price_source="built-in table: openai gpt-4.1",
        price_json='{"input":"2","output":"8"}',
        cost_usd=Decimal("0.0033"),
        cost_billed=Decimal("0.02409"),
        currency="CNY",
        per_usd=Decimal("7.3"),
        latency_ms=812.5,
        ttft_ms=120.25,
        retries=2,
        http_status=200,
        outcome="ok",
        request_id="req_123",
        finish_reason="stop",
        tag="bench",
    )
    ledger.record(row)
    (back,) = ledger.recent()
    assert back == row
    assert isinstance(back.cost_usd, Decimal) and isinstance(back.per_usd, Decimal)


def test_a_cached_row_round_trips_with_its_saving(ledger: Ledger) -> None:
    hit = _row(
        id="hit",
        prompt_tokens=1200,
        completion_tokens=300,
        cost_usd=Decimal(0),
        cost_billed=Decimal(0),
        currency="CNY",
        per_usd=Decimal("7.3"),
        cached=True,
        saved_usd=Decimal("0.0048"),
        saved_billed=Decimal("0.03504"),
    )
    unknown = _row(id="unknown-saving", cached=True, cost_usd=Decimal(0), cost_billed=Decimal(0))
    ledger.record_many([hit, unknown, _row(id="sent")])
    rows = {r.id: r for r in ledger.recent()}
    assert rows["hit"] == hit and rows["unknown-saving"] == unknown
    assert rows["hit"].cached is True and rows["sent"].cached is False
    assert rows["sent"].saved_usd is None and rows["unknown-saving"].saved_billed is None
    conn = sqlite3.connect(ledger.path)
    stored = dict((r[0], r[1:]) for r in conn.execute("SELECT id, cached, saved_usd, saved_billed FROM requests"))
    conn.close()
    assert stored == {
        "hit": (1, 4_800_000_000, 35_040_000_000),
        "unknown-saving": (1, None, None),
        "sent": (0, None, None),
    }


def test_unknown_usage_is_null_and_zero_stays_zero(ledger: Ledger) -> None:
    ledger.record(_row(id="unknown", outcome="error", error_class="NetworkError"))
    ledger.record(
        _row(
            id="zero",
            prompt_tokens=0,
            completion_tokens=0,
            cached_tokens=0,
            cost_usd=Decimal(0),
            cost_billed=Decimal(0),
        )
    )
    conn = sqlite3.connect(ledger.path)
    got = dict(
        (r[0], r[1:])
        for r in conn.execute(
            "SELECT id, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens,"
            " cost_usd, cost_billed FROM requests"
        )
    )
    conn.close()
    assert got["unknown"] == (None, None, None, None, None, None)
    assert got["zero"] == (0, 0, 0, None, 0, 0)
    rows = {r.id: r for r in ledger.recent()}
    assert rows["unknown"].prompt_tokens is None and rows["unknown"].cost_usd is None
    assert rows["zero"].prompt_tokens == 0 and rows["zero"].cost_usd == 0
    totals = ledger.totals()
    assert (totals.requests, totals.errors, totals.unpriced_requests) == (2, 1, 1)


def test_money_is_stored_as_integer_pico_units_and_sums_exactly(ledger: Ledger) -> None:
    for _ in range(1000):
        ledger.record(_row(cost_usd=Decimal("0.000001"), prompt_tokens=1, completion_tokens=1))
    conn = sqlite3.connect(ledger.path)
    assert conn.execute("SELECT typeof(cost_usd), cost_usd FROM requests LIMIT 1").fetchone() == (
        "integer",
        1_000_000,
    )
    assert conn.execute("SELECT SUM(cost_usd) FROM requests").fetchone() == (10**9,)
    conn.close()
    totals = ledger.totals()
    assert totals.cost_usd == Decimal("0.001")
    assert (totals.requests, totals.prompt_tokens, totals.unpriced_requests) == (1000, 1000, 0)
    assert float(sum([0.000001] * 1000)) != 0.001  # what binary floats would have given


def test_sums_beyond_64_bit_pico_units_stay_exact(ledger: Ledger) -> None:
    # 3 x 5,000,000.000000000001 = 1.5e19 pico-units: more than a plain SQLite SUM can hold.
    for _ in range(3):
        ledger.record(_row(cost_usd=Decimal("5000000.000000000001")))
    assert ledger.totals().cost_usd == Decimal("15000000.000000000003")


def test_amounts_finer_than_a_pico_unit_round_half_even(ledger: Ledger) -> None:
    ledger.record(_row(id="a", cost_usd=Decimal("0.0000000000025")))
    ledger.record(_row(id="b", cost_usd=Decimal("0.0000000000035")))
    got = {r.id: r.cost_usd for r in ledger.recent()}
    assert got == {"a": Decimal("2E-12"), "b": Decimal("4E-12")}


def test_totals_filter_on_time(ledger: Ledger) -> None:
    ledger.record(_row(ts="2026-10-31T23:59:59.999Z", cost_usd=Decimal("1")))
    ledger.record(_row(ts="2026-11-01T00:00:00.000Z", cost_usd=Decimal("2")))
    ledger.record(_row(ts="2026-12-01T00:00:00.000Z", cost_usd=None))
    november = ledger.totals(since="2026-11", until="2026-12")
    assert (november.requests, november.cost_usd) == (1, Decimal(2))
    assert ledger.totals(since="2026-12").cost_usd is None  # only unpriced rows: no sum, not 0


def test_recent_is_newest_first_and_count_counts(ledger: Ledger) -> None:
    for day in range(1, 6):
        ledger.record(_row(ts=f"2026-11-0{day}T00:00:00.000Z", id=f"d{day}"))
    assert [r.id for r in ledger.recent(limit=3)] == ["d5", "d4", "d3"]
    assert ledger.count() == 5


def test_ids_are_unique_uuid_hex(ledger: Ledger) -> None:
    row = _row()
    assert re.fullmatch(r"[0-9a-f]{32}", row.id)
    assert _row().id != row.id
    ledger.record(row)
    with pytest.raises(LedgerError):
        ledger.record(row)
    assert ledger.count() == 1  # the failed write left nothing behind


def test_unknown_outcome_is_refused(ledger: Ledger) -> None:
    with pytest.raises(LedgerError):
        ledger.record(_row(outcome="maybe"))
    ledger.record(_row())  # the connection is still usable afterwards
    assert ledger.count() == 1


def test_timestamps_are_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 891_999, tzinfo=timezone(timedelta(hours=8)))
    assert utc_timestamp(moment) == "2026-03-03T21:06:07.891Z"
    assert utc_timestamp(datetime(2026, 3, 4, 5, 6, 7)) == "2026-03-04T05:06:07.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", _row().ts)
    assert _row().ts[:10] == datetime.now(UTC).strftime("%Y-%m-%d")


def test_record_is_fast(ledger: Ledger) -> None:
    durations = []
    for _ in range(200):
        row = _row(prompt_tokens=10, completion_tokens=20, cost_usd=Decimal("0.00012"))
        started = time.perf_counter()
        ledger.record(row)
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.010  # typically well under 1 ms
