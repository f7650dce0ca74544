"""`relay cost --reprice` corrects requests whose 1-hour cache writes were costed at the 5-minute rate."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from relaycli.datatypes import Result, Timing, Usage
from relaycli.ledger import Ledger
from relaycli.ledger.migrations import MIGRATIONS
from relaycli.pipeline.recording import build_row
from relaycli.usage.prices import PriceTable

from .support import CONFIG, Home

WHEN = datetime(2026, 4, 2, 12, tzinfo=UTC)
PICO = 10**12
# claude-haiku-4-5 in the built-in table: $1 input, $1.25 per 5-minute write, $5 output per 1M tokens;
# a 1-hour write is billed at twice the input price.
INPUT, WRITE_5M, WRITE_1H, OUTPUT = Decimal(1), Decimal("1.25"), Decimal(2), Decimal(5)


def _raw_usage(write_5m: int, write_1h: int | None) -> dict[str, object]:
    raw: dict[str, object] = {
        "input_tokens": 100,
        "cache_creation_input_tokens": write_5m + (write_1h or 0),
        "cache_read_input_tokens": 0,
        "output_tokens": 10,
    }
    if write_1h is not None:
        raw["cache_creation"] = {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h}
    return raw


def _old_ledger(path: Path, rows: list[tuple[str, dict[str, object]]]) -> None:
    """A ledger as relay wrote it before 1-hour writes were told apart: schema version 2, every write
    costed at the one cache-write price."""
    price = PriceTable.load().lookup("claude-haiku-4-5")
    assert price is not None and price.cache_write == WRITE_5M
    conn = sqlite3.connect(path, isolation_level=None)
    for number, (name, statements) in enumerate(MIGRATIONS[:2], start=1):
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000Z')", (number, name))
    conn.execute("PRAGMA user_version = 2")
    for row_id, raw in rows:
        written = int(str(raw["cache_creation_input_tokens"]))
        usd = (100 * INPUT + written * WRITE_5M + 10 * OUTPUT) / 10**6  # the single rate
        conn.execute(
            "INSERT INTO requests (id, ts, command, profile, host, protocol, model_requested, model_answered,"
            " prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, usage_raw, price_source,"
            " price_json, cost_usd, cost_billed, currency, per_usd, outcome)"
            " VALUES (?, ?, 'stream', 'direct', 'api.example.com', 'anthropic', 'claude-haiku-4-5',"
            " 'claude-haiku-4-5', ?, 10, 0, ?, ?, ?, ?, ?, ?, 'CNY', '7.3', 'ok')",
            (
                row_id,
                "2026-04-02T12:00:00.000Z",
                100 + written,
                written,
                json.dumps(raw),
                price.source,
                json.dumps(price.as_dict()),
                int(usd * PICO),
                int(usd * Decimal("7.3") * PICO),
            ),
        )
    conn.close()


def _stored(home: Home) -> dict[str, tuple[Decimal | None, Decimal | None, int | None]]:
    with Ledger.open(home.path / "ledger.db") as ledger:
        return {row.id: (row.cost_usd, row.cost_billed, row.cache_write_1h_tokens) for row in ledger.recent(100)}


def test_reprice_corrects_one_hour_writes_costed_at_the_five_minute_rate(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    _old_ledger(home.path / "ledger.db", [("split", _raw_usage(1_000, 2_000)), ("plain", _raw_usage(300, None))])
    wrong = (100 * INPUT + 3_000 * WRITE_5M + 10 * OUTPUT) / 10**6
    assert _stored(home)["split"][0] == wrong

    _, err = home.cost(timezone="UTC", reprice=True)
    assert "repriced 1 request " in err
    right = (100 * INPUT + 1_000 * WRITE_5M + 2_000 * WRITE_1H + 10 * OUTPUT) / 10**6
    assert right == Decimal("0.0054")
    rows = _stored(home)
    assert rows["split"] == (right, right * Decimal("7.3"), 2_000)
    plain = (100 * INPUT + 300 * WRITE_5M + 10 * OUTPUT) / 10**6  # 5-minute writes only: unchanged
    assert rows["plain"] == (plain, plain * Decimal("7.3"), 0)

    _, err = home.cost(timezone="UTC", reprice=True)
    assert "every selected request already has the current price" in err
    assert _stored(home) == rows


def test_a_price_change_reprices_one_hour_writes_from_the_column(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    usage = Usage(
        prompt_tokens=3_100,
        completion_tokens=10,
        cached_tokens=0,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=2_000,
        raw=None,
    )  # no raw usage: the column alone says it
    result = Result(
        text="",
        model="claude-haiku-4-5",
        finish_reason="end_turn",
        usage=usage,
        request_id="r",
        timing=Timing(t_send=0, t_end=1),
    )
    row = build_row(
        command="stream",
        profile=home.settings.profiles["relay"],
        model_requested="claude-haiku-4-5",
        result=result,
        outcome="ok",
        error=None,
        prices=home.prices,
        now=lambda: WHEN,
    )
    with Ledger.open(home.path / "ledger.db") as ledger:
        ledger.record(row)
    home.write_config(CONFIG + '\n[prices."claude-haiku-4-5"]\ninput = 2\noutput = 10\ncache_write = 2.5\n')
    _, err = home.cost(timezone="UTC", reprice=True)
    assert "repriced 1 request " in err
    # 100 x 2 + 1,000 x 2.5 + 2,000 x (2 x 2) + 10 x 10 = 10,800 per 1M
    assert _stored(home)[row.id][0] == Decimal("0.0108")
