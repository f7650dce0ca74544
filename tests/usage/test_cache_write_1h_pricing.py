"""1-hour prompt-cache writes: 2x the base input price (or ``cache_write_1h``), 5-minute ones at ``cache_write``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.config.loader import load
from relaycli.datatypes import Usage
from relaycli.errors import ConfigError
from relaycli.usage.prices import Price, PriceTable, cost_usd


def test_one_hour_writes_cost_twice_the_input_price() -> None:
    price = PriceTable.load().lookup("claude-sonnet-4-20250514")  # $3 in, $0.30 read, $3.75 write, $15 out
    assert price is not None and price.cache_write_1h is None
    # input 100, reads 5,000, writes 3,000 of which 2,000 for an hour, output 300:
    # 100 x 3 + 5,000 x 0.3 + 1,000 x 3.75 + 2,000 x 6 + 300 x 15 = 300 + 1,500 + 3,750 + 12,000 + 4,500
    usage = Usage(
        prompt_tokens=8_100,
        completion_tokens=300,
        cached_tokens=5_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=2_000,
    )
    assert cost_usd(usage, price) == Decimal("0.02205")


def test_an_explicit_one_hour_price_wins() -> None:
    price = Price(
        model="m", input=Decimal(1), output=Decimal(2), cache_write=Decimal("1.25"), cache_write_1h=Decimal("1.5")
    )
    usage = Usage(prompt_tokens=1_000, completion_tokens=0, cache_write_tokens=1_000, cache_write_1h_tokens=400)
    assert cost_usd(usage, price) == Decimal("0.00135")  # 600 x 1.25 + 400 x 1.5


def test_unknown_split_prices_every_write_at_the_five_minute_rate() -> None:
    price = Price(model="m", input=Decimal(1), output=Decimal(2), cache_write=Decimal("1.25"))
    usage = Usage(prompt_tokens=1_000, completion_tokens=0, cache_write_tokens=1_000)
    assert cost_usd(usage, price) == Decimal("0.00125")


def test_price_json_round_trips_the_one_hour_price_and_omits_it_when_unset() -> None:
    plain = Price(model="m", input=Decimal(1), output=Decimal(2))
    assert "cache_write_1h" not in plain.as_dict()  # rows costed before keep their price_json
    priced = Price(model="m", input=Decimal(1), output=Decimal(2), cache_write_1h=Decimal("2.5"))
    assert priced.as_dict()["cache_write_1h"] == "2.5"
    assert Price.from_dict(priced.as_dict()).cache_write_1h == Decimal("2.5")


def test_config_overrides_take_cache_write_1h(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[prices."my-model"]\ninput = 2\noutput = 8\ncache_write = 2.5\ncache_write_1h = 4\n')
    price = PriceTable.load(load(path, {}).prices).lookup("my-model")
    assert price is not None and price.cache_write_1h == Decimal(4)
    path.write_text('[prices."my-model"]\ninput = 2\noutput = 8\ncache_write_1h = -1\n')
    with pytest.raises(ConfigError, match="cache_write_1h"):
        load(path, {})
    with pytest.raises(ConfigError, match="cache_write_1h"):
        PriceTable.load({"my-model": {"input": 2, "output": 8, "cache_write_1h": "lots"}})
