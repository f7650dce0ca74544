"""Cost of a request: exact Decimals, cache reads and writes, unknown is None, billing currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from relaycli.config.profile import Billing
from relaycli.datatypes import Usage
from relaycli.usage.prices import Price, PriceTable, billed, cost_usd


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def test_openai_style_cached_tokens(table: PriceTable) -> None:
    price = table.lookup("gpt-4.1")  # $2 input, $0.50 cached input, $8 output per 1M
    assert price is not None and (price.input, price.cached_input, price.output) == (2, Decimal("0.5"), 8)
    # prompt_tokens includes the 4,000 cached tokens: 6,000 x 2 + 4,000 x 0.5 + 500 x 8 = 18,000 / 1M
    usage = Usage(prompt_tokens=10_000, completion_tokens=500, cached_tokens=4_000)
    assert cost_usd(usage, price) == Decimal("0.018")


def test_anthropic_style_cache_reads_and_writes(table: PriceTable) -> None:
    price = table.lookup("claude-sonnet-4-20250514")  # $3 in, $0.30 read, $3.75 write, $15 out
    assert price is not None
    assert (price.input, price.cached_input, price.cache_write, price.output) == (
        3,
        Decimal("0.3"),
        Decimal("3.75"),
        15,
    )
    # input_tokens=100, cache_read_input_tokens=5,000, cache_creation_input_tokens=2,000, output 300:
    # 100 x 3 + 5,000 x 0.3 + 2,000 x 3.75 + 300 x 15 = 300 + 1,500 + 7,500 + 4,500 = 13,800 / 1M
    usage = Usage(prompt_tokens=7_100, completion_tokens=300, cached_tokens=5_000, cache_write_tokens=2_000)
    assert cost_usd(usage, price) == Decimal("0.0138")
    assert billed(Decimal("0.0138"), Billing(currency="CNY", per_usd=Decimal("7.3"))) == Decimal("0.10074")


def test_missing_cache_prices_bill_those_tokens_as_input() -> None:
    price = Price(model="m", input=Decimal("1"), output=Decimal("2"))
    usage = Usage(prompt_tokens=1_000, completion_tokens=1_000, cached_tokens=300, cache_write_tokens=200)
    assert cost_usd(usage, price) == Decimal("0.003")


def test_unknown_usage_or_price_is_none_never_zero() -> None:
    price = Price(model="m", input=Decimal("1"), output=Decimal("2"))
    assert cost_usd(Usage(), price) is None
    assert cost_usd(Usage(prompt_tokens=10), price) is None
    assert cost_usd(Usage(completion_tokens=10), price) is None
    assert cost_usd(Usage(prompt_tokens=10, completion_tokens=10), None) is None
    zero = cost_usd(Usage(prompt_tokens=0, completion_tokens=0), price)
    assert zero == 0 and zero is not None


def test_costs_are_exact_decimals() -> None:
    price = Price(model="m", input=Decimal("0.075"), output=Decimal("0.3"), cached_input=Decimal("0.01875"))
    one = cost_usd(Usage(prompt_tokens=1, completion_tokens=0), price)
    assert one == Decimal("0.000000075")
    assert sum([one] * 1000, Decimal(0)) == Decimal("0.000075")  # type: ignore[list-item]
    big = cost_usd(Usage(prompt_tokens=123_456_789, completion_tokens=98_765_432, cached_tokens=3), price)
    assert big == (
        Decimal(123_456_786) * Decimal("0.075") + 3 * Decimal("0.01875") + Decimal(98_765_432) * Decimal("0.3")
    ) / Decimal(1_000_000)


def test_inconsistent_cache_counts_never_make_input_negative() -> None:
    price = Price(model="m", input=Decimal("10"), output=Decimal("0"), cached_input=Decimal("1"))
    usage = Usage(prompt_tokens=100, completion_tokens=0, cached_tokens=400)
    assert cost_usd(usage, price) == Decimal("0.0004")  # 400 cached x 1, no negative uncached part


def test_billing_is_exact() -> None:
    assert billed(Decimal("0.018"), Billing()) == Decimal("0.018")
    assert billed(Decimal("0.000001"), Billing("JPY", Decimal("151.37"))) == Decimal("0.00015137")


def test_price_dict_round_trip() -> None:
    price = Price(model="m", input=Decimal("2.5"), output=Decimal("10"), cache_write=Decimal("3.125"))
    data = price.as_dict()
    assert data == {
        "model": "m",
        "input": "2.5",
        "output": "10",
        "cached_input": None,
        "cache_write": "3.125",
    }
    again = Price.from_dict(data)
    assert (again.input, again.output, again.cached_input, again.cache_write) == (
        price.input,
        price.output,
        None,
        price.cache_write,
    )


@pytest.mark.parametrize(
    ("model", "provider", "usage"),
    [
        ("gpt-4.1", "openai", {"prompt": 10_000, "cached": 4_000, "write": 0, "out": 500}),
        ("gpt-4o-mini", "openai", {"prompt": 123_457, "cached": 1_024, "write": 0, "out": 4_321}),
        (
            "claude-sonnet-4-20250514",
            "anthropic",
            {"prompt": 7_100, "cached": 5_000, "write": 2_000, "out": 300},
        ),
        ("claude-3-5-haiku-latest", "anthropic", {"prompt": 50_000, "cached": 0, "write": 40_000, "out": 77}),
    ],
)
def test_agrees_with_genai_prices(table: PriceTable, model: str, provider: str, usage: dict[str, int]) -> None:
    genai_prices = pytest.importorskip("genai_prices")  # a development dependency only
    ours = cost_usd(
        Usage(
            prompt_tokens=usage["prompt"],
            completion_tokens=usage["out"],
            cached_tokens=usage["cached"],
            cache_write_tokens=usage["write"],
        ),
        table.lookup(model),
    )
    theirs = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage["prompt"],
            cache_read_tokens=usage["cached"],
            cache_write_tokens=usage["write"],
            output_tokens=usage["out"],
        ),
        model,
        provider_id=provider,
    ).total_price
    assert ours == theirs
