"""`relay stream --json` against the local relay's Anthropic format: 1-hour cache writes priced apart."""

from __future__ import annotations

import json
from decimal import Decimal

from relaycli.usage.prices import SNAPSHOT_PATH
from tests.conftest import run_relay

from .support import ledger_rows


def _table_row(model: str) -> dict[str, Decimal]:
    """The built-in table's own numbers for ``model`` (USD per 1M tokens), read straight from the file."""
    doc = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
    columns = doc["columns"]
    row = next(
        dict(zip(columns, values, strict=True))
        for values in doc["models"]
        if values[0] == "anthropic" and values[1] == model
    )
    return {key: Decimal(row[key]) for key in ("input", "output", "cached_input", "cache_write")}


def test_one_hour_and_five_minute_writes_are_reported_and_priced_apart(relay_env: dict[str, str]) -> None:
    ran = run_relay(
        "stream",
        "-p",
        "mock-anthropic",
        "--json",
        "[[mock: cache_write_5m=300 cache_write_1h=2000 words=12]] hi",
        env=relay_env,
    )
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    usage = doc["usage"]
    assert doc["model"] == "claude-haiku-4-5"
    assert (usage["cache_write_tokens"], usage["cache_write_1h_tokens"], usage["completion_tokens"]) == (2300, 2000, 12)
    uncached = usage["prompt_tokens"] - 2300
    assert uncached > 0 and usage["cached_tokens"] == 0

    p = _table_row("claude-haiku-4-5")
    assert p["cache_write"] == p["input"] * Decimal("1.25")  # the table's 5-minute write price
    expected = (uncached * p["input"] + 300 * p["cache_write"] + 2000 * (2 * p["input"]) + 12 * p["output"]) / 10**6
    assert Decimal(doc["cost"]["usd"]) == expected
    single_rate = (uncached * p["input"] + 2300 * p["cache_write"] + 12 * p["output"]) / 10**6
    assert expected > single_rate

    (row,) = ledger_rows(relay_env)
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (2300, 2000)
    assert Decimal(row["cost_usd"]) == expected
    assert row["usage_raw"]["cache_creation"] == {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 2000}
