"""Finding a model's price: normalised names, config overrides first, unpriced is None."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relaycli.errors import ConfigError
from relaycli.usage.prices import Price, PriceTable, candidates


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def _same(a: Price | None, b: Price | None) -> bool:
    assert a is not None and b is not None
    return (a.model, a.input, a.output, a.cached_input, a.cache_write) == (
        b.model,
        b.input,
        b.output,
        b.cached_input,
        b.cache_write,
    )


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("GPT-4.1", "gpt-4.1"),  # case
        ("gpt-4.1-2025-04-14", "gpt-4.1"),  # dated alias
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),  # compact date suffix
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-latest"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("claude-sonnet-4@20250514", "claude-sonnet-4"),  # Vertex style
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),  # Bedrock style
        ("x-ai/grok-4", "grok-4"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("deepseek-chat", "deepseek-chat"),
    ],
)
def test_names_providers_return_find_the_same_price(table: PriceTable, name: str, canonical: str) -> None:
    assert _same(table.lookup(name), table.lookup(canonical))


def test_provider_prefixed_names(table: PriceTable) -> None:
    routed = table.lookup("openai/gpt-4.1")
    direct = table.lookup("gpt-4.1")
    assert routed is not None and direct is not None
    assert (routed.input, routed.output) == (direct.input, direct.output)
    # An unknown vendor prefix is taken off too.
    assert _same(table.lookup("somerelay/gpt-4.1-mini"), table.lookup("gpt-4.1-mini"))
    # OpenRouter-only families are found by their bare name as well.
    bare, prefixed = table.lookup("qwen3-coder-plus"), table.lookup("qwen/qwen3-coder-plus")
    assert bare is not None and _same(bare, prefixed)


def test_variant_suffixes(table: PriceTable) -> None:
    beta = table.lookup("anthropic/claude-3.5-sonnet:beta")
    plain = table.lookup("anthropic/claude-3.5-sonnet")
    assert beta is not None and _same(beta, plain)
    # A ':free' variant the table lists is free; one it does not list is priced at zero, not as paid.
    listed = table.lookup("meta-llama/llama-3.3-70b-instruct:free")
    assert listed is not None and (listed.input, listed.output) == (0, 0)
    unlisted = table.lookup("openai/gpt-4.1:free")
    assert unlisted is not None and (unlisted.input, unlisted.output) == (0, 0)
    assert "free" in unlisted.source


def test_real_entries_and_their_source(table: PriceTable) -> None:
    gpt = table.lookup("gpt-4.1")
    assert gpt is not None
    assert (gpt.input, gpt.output, gpt.cached_input, gpt.cache_write) == (
        Decimal("2"),
        Decimal("8"),
        Decimal("0.5"),
        None,
    )
    assert gpt.context_window == 1_000_000
    assert gpt.source.startswith("built-in table: openai gpt-4.1 (genai-prices ")
    claude = table.lookup("claude-sonnet-4")
    assert claude is not None
    assert (claude.input, claude.output, claude.cached_input, claude.cache_write) == (
        Decimal("3"),
        Decimal("15"),
        Decimal("0.3"),
        Decimal("3.75"),
    )


@pytest.mark.parametrize("name", ["no-such-model", "mock-model", "", "   ", "gpt", "claude"])
def test_unknown_models_are_unpriced(table: PriceTable, name: str) -> None:
    assert table.lookup(name) is None


def test_overrides_win_over_the_built_in_table() -> None:
    table = PriceTable.load(
        {
            "gpt-4.1": {"input": 2.5, "output": 8.0, "cached_input": 0.5},
            "My-Model": {"input": 1, "output": "2"},
        }
    )
    for name in ("gpt-4.1", "GPT-4.1", "openai/gpt-4.1", "gpt-4.1-2025-04-14"):
        price = table.lookup(name)
        assert price is not None
        assert (price.input, price.output, price.cached_input) == (
            Decimal("2.5"),
            Decimal("8"),
            Decimal("0.5"),
        )
        assert price.source == 'config [prices."gpt-4.1"]'
    mine = table.lookup("my-model")
    assert mine is not None and (mine.input, mine.output) == (1, 2)
    assert table.lookup("gpt-4.1-mini") is not None  # the rest of the built-in table is still there
    assert table.lookup("gpt-4.1-mini").source.startswith("built-in")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad",
    [
        {"input": 1},  # no output
        {"input": 1, "output": 2, "cache_read": 3},  # unknown key
        {"input": -1, "output": 2},
        {"input": "lots", "output": 2},
        {"input": True, "output": 2},
        {"input": float("nan"), "output": 2},
        {"input": 1, "output": 2, "context_window": 0},
    ],
)
def test_bad_overrides_are_config_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as caught:
        PriceTable.load({"x": bad})
    assert '[prices."x"]' in str(caught.value)


def test_scheduled_price_changes_apply_from_their_date() -> None:
    before = PriceTable.load(today=date(2026, 12, 31)).lookup("gemini-3.6-flash")
    after = PriceTable.load(today=date(2027, 1, 1)).lookup("gemini-3.6-flash")
    assert before is not None and after is not None
    assert (before.input, after.input) == (Decimal("0.75"), Decimal("1.5"))
    assert "price from 2027-01-01" in after.source


def test_candidates_are_most_specific_first() -> None:
    assert candidates("OpenAI/GPT-4o-2024-08-06:beta") == [
        "openai/gpt-4o-2024-08-06:beta",
        "openai/gpt-4o-2024-08-06",
        "gpt-4o-2024-08-06:beta",
        "gpt-4o-2024-08-06",
        "openai/gpt-4o",
        "gpt-4o",
    ]
