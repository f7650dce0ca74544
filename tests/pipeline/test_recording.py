"""From a request's result (or failure) to its ledger row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.config.profile import Billing, Profile
from relaycli.datatypes import Result, Timing, Usage
from relaycli.errors import NetworkError, RateLimited, TruncatedResponse
from relaycli.ledger import Ledger, LedgerRow
from relaycli.pipeline.recording import Recorder, build_row
from relaycli.usage.prices import PriceTable

PROFILE = Profile(
    name="holysheep",
    base_url="https://relay.example.com/v1",
    billing=Billing(currency="CNY", per_usd=Decimal("7.3")),
)
NOW = datetime(2026, 11, 23, 4, 5, 6, 789_000, tzinfo=UTC)


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable.load({"house-model": {"input": "1", "output": "3"}})


def _result(**changes: object) -> Result:
    timing = Timing(t_send=0, t_first_token=150_000_000, t_end=900_000_000)
    base: dict[str, object] = {
        "text": "secret answer text",
        "model": "gpt-4.1-2025-04-14",
        "finish_reason": "stop",
        "usage": Usage(
            prompt_tokens=10_000,
            completion_tokens=500,
            cached_tokens=4_000,
            raw={"prompt_tokens": 10_000, "prompt_tokens_details": {"cached_tokens": 4_000}},
        ),
        "request_id": "req_1",
        "timing": timing,
        "retries": 1,
        "status": 200,
    }
    base.update(changes)
    return Result(**base)  # type: ignore[arg-type]


def test_a_successful_request(prices: PriceTable) -> None:
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="gpt-4.1",
        result=_result(),
        outcome="ok",
        error=None,
        prices=prices,
        now=lambda: NOW,
    )
    assert row.ts == "2026-11-23T04:05:06.789Z"
    assert (row.profile, row.host, row.protocol) == ("holysheep", "relay.example.com", "openai")
    assert (row.model_requested, row.model_answered) == ("gpt-4.1", "gpt-4.1-2025-04-14")
    assert (row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.cache_write_tokens) == (
        10_000,
        500,
        4_000,
        None,
    )
    assert row.cost_usd == Decimal("0.018")
    assert row.cost_billed == Decimal("0.1314")
    assert (row.currency, row.per_usd) == ("CNY", Decimal("7.3"))
    assert json.loads(row.price_json or "") == {
        "model": "gpt-4.1",
        "input": "2",
        "output": "8",
        "cached_input": "0.5",
        "cache_write": None,
    }
    assert row.price_source and row.price_source.startswith("built-in table: openai gpt-4.1")
    assert json.loads(row.usage_raw or "")["prompt_tokens_details"] == {"cached_tokens": 4_000}
    assert (row.latency_ms, row.ttft_ms) == (900.0, 150.0)
    assert (row.retries, row.http_status, row.request_id, row.finish_reason) == (1, 200, "req_1", "stop")
    assert (row.outcome, row.error_class, row.tag) == ("ok", None, None)
    assert "secret answer text" not in repr(row)


def test_a_failure_with_no_result(prices: PriceTable) -> None:
    error = RateLimited("Rate limited by relay.example.com", status=429, request_id="req_9")
    row = build_row(
        command="chat",
        profile=PROFILE,
        model_requested="gpt-4.1",
        result=None,
        outcome="error",
        error=error,
        prices=prices,
        tag="bench",
    )
    assert (row.http_status, row.error_class, row.request_id, row.tag) == (
        429,
        "RateLimited",
        "req_9",
        "bench",
    )
    assert row.prompt_tokens is None and row.completion_tokens is None
    assert row.cost_usd is None and row.cost_billed is None  # unknown usage: no cost, not 0
    assert row.price_source is not None  # the model is priced; only the usage is unknown
    assert row.latency_ms is None and row.retries == 0
    network = build_row(
        command="chat",
        profile=PROFILE,
        model_requested="gpt-4.1",
        result=None,
        outcome="error",
        error=NetworkError("DNS failed"),
        prices=prices,
    )
    assert (network.http_status, network.error_class) == (None, "NetworkError")


def test_a_truncated_stream_keeps_what_arrived(prices: PriceTable) -> None:
    partial = _result(finish_reason=None, usage=Usage(), complete=False)
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="gpt-4.1",
        result=partial,
        outcome="truncated",
        error=TruncatedResponse("stream ended early"),
        prices=prices,
    )
    assert (row.outcome, row.error_class, row.http_status) == ("truncated", "TruncatedResponse", 200)
    assert row.cost_usd is None and row.prompt_tokens is None


def test_unpriced_models_keep_their_tokens_and_have_no_cost(prices: PriceTable) -> None:
    result = _result(model="mock-model")
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="mock-model",
        result=result,
        outcome="ok",
        error=None,
        prices=prices,
    )
    assert row.prompt_tokens == 10_000
    assert (row.cost_usd, row.cost_billed, row.price_source, row.price_json) == (None, None, None, None)


def test_price_falls_back_to_the_requested_model(prices: PriceTable) -> None:
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="house-model",
        result=_result(model="some-internal-name"),
        outcome="ok",
        error=None,
        prices=prices,
    )
    assert row.price_source == 'config [prices."house-model"]'
    assert row.cost_usd == Decimal("0.0115")  # 10,000 x 1 + 500 x 3 per 1M (no cache price: input)


def test_unknown_outcome_is_a_programming_error(prices: PriceTable) -> None:
    with pytest.raises(ValueError):
        build_row(
            command="stream",
            profile=PROFILE,
            model_requested="x",
            result=None,
            outcome="fine",
            error=None,
            prices=prices,
        )


def test_rows_from_build_row_round_trip_through_the_ledger(prices: PriceTable, tmp_path: Path) -> None:
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="gpt-4.1",
        result=_result(),
        outcome="ok",
        error=None,
        prices=prices,
    )
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        ledger.record(row)
        assert ledger.recent() == [row]


def test_one_hour_cache_writes_are_stored_and_priced_apart(tmp_path: Path) -> None:
    raw = {
        "input_tokens": 100,
        "cache_creation_input_tokens": 3_000,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 1_000, "ephemeral_1h_input_tokens": 2_000},
        "output_tokens": 10,
    }
    usage = Usage(
        prompt_tokens=3_100,
        completion_tokens=10,
        cached_tokens=0,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=2_000,
        raw=raw,
    )
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="claude-haiku-4-5",
        result=_result(model="claude-haiku-4-5", usage=usage),
        outcome="ok",
        error=None,
        prices=PriceTable.load(),
        now=lambda: NOW,
    )
    # claude-haiku-4-5: $1 in, $1.25 per 5-minute write, 2 x $1 per 1-hour write, $5 out (per 1M)
    assert row.cost_usd == (100 * 1 + 1_000 * Decimal("1.25") + 2_000 * 2 + 10 * 5) / Decimal(10**6)
    assert (row.cache_write_tokens, row.cache_write_1h_tokens) == (3_000, 2_000)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        ledger.record(row)
        (stored,) = ledger.recent(1)
    assert stored.cache_write_1h_tokens == 2_000 and stored.cost_usd == row.cost_usd


# A price with a cached-input rate, so a hit's saving covers all three kinds of token.
CACHE_PRICES = {
    "house-model": {"input": "1", "output": "3"},
    "cache-model": {"input": "3", "output": "12", "cached_input": "0.3"},
}


def _hit(prices: PriceTable, model: str, **changes: object) -> LedgerRow:
    return build_row(
        command="stream",
        profile=PROFILE,
        model_requested=model,
        result=_result(model=model, **changes),
        outcome="ok",
        error=None,
        prices=prices,
        now=lambda: NOW,
        cached=True,
    )


def test_a_cached_answer_costs_nothing_and_saves_its_price() -> None:
    row = _hit(PriceTable.load(CACHE_PRICES), "cache-model")
    assert row.cached is True and row.outcome == "ok"
    # the tokens as first reported: 10,000 in (4,000 of them cached), 500 out
    assert (row.prompt_tokens, row.cached_tokens, row.completion_tokens) == (10_000, 4_000, 500)
    assert row.cost_usd == Decimal(0) and row.cost_billed == Decimal(0)
    # 6,000 x $3 + 4,000 x $0.30 + 500 x $12 per 1M = $0.0252; at 7.3 CNY per USD, 0.18396 CNY
    assert row.saved_usd == Decimal("0.0252")
    assert row.saved_billed == Decimal("0.18396")
    assert row.price_source == 'config [prices."cache-model"]'  # kept, so --reprice can tell it is current


def test_a_cached_answer_of_an_unpriced_model_costs_nothing_and_saves_an_unknown_amount() -> None:
    row = _hit(PriceTable.load(CACHE_PRICES), "mock-model")
    assert row.cached is True and row.prompt_tokens == 10_000
    assert row.cost_usd == Decimal(0) and row.cost_billed == Decimal(0)  # free, not unpriced
    assert row.saved_usd is None and row.saved_billed is None  # unknown, not 0


def test_a_cached_answer_with_unknown_usage_saves_an_unknown_amount() -> None:
    row = _hit(PriceTable.load(CACHE_PRICES), "house-model", usage=Usage())
    assert row.prompt_tokens is None and row.cost_usd == Decimal(0)
    assert row.saved_usd is None and row.saved_billed is None


def test_a_request_that_was_sent_saves_nothing(prices: PriceTable) -> None:
    row = build_row(
        command="stream",
        profile=PROFILE,
        model_requested="house-model",
        result=_result(model="house-model"),
        outcome="ok",
        error=None,
        prices=prices,
    )
    assert row.cached is False and row.saved_usd is None and row.saved_billed is None
    assert row.cost_usd == Decimal("0.0115")  # 10,000 x $1 + 500 x $3 per 1M


def test_the_recorder_writes_a_cached_row(tmp_path: Path) -> None:
    prices = PriceTable.load(CACHE_PRICES)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        recorder = Recorder(ledger=lambda: ledger, prices=lambda: prices, now=lambda: NOW)
        warnings: list[str] = []
        row, written = recorder.record(
            command="stream",
            profile=PROFILE,
            model_requested="house-model",
            result=_result(model="house-model"),
            outcome="ok",
            error=None,
            tag=None,
            warn=warnings.append,
            cached=True,
        )
        assert written and not warnings
        (stored,) = ledger.recent()
    assert stored == row and stored.cached is True
    # 10,000 x $1 + 500 x $3 per 1M (no cached-input price: input); 7.3 CNY per USD
    assert (stored.cost_usd, stored.saved_usd, stored.saved_billed) == (0, Decimal("0.0115"), Decimal("0.08395"))


def test_a_deferred_recorder_writes_every_row_in_batches_and_before_a_read(tmp_path: Path) -> None:
    import threading

    prices = PriceTable.load(CACHE_PRICES)
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        batches: list[int] = []
        write_many = ledger.record_many

        def counted(rows: list[LedgerRow]) -> None:
            batches.append(len(rows))
            write_many(rows)

        ledger.record_many = counted  # type: ignore[method-assign]
        recorder = Recorder(ledger=lambda: ledger, prices=lambda: prices, now=lambda: NOW, deferred=True, every_s=60)

        def one() -> None:
            recorder.record(
                command="batch",
                profile=PROFILE,
                model_requested="house-model",
                result=_result(model="house-model"),
                outcome="ok",
                error=None,
                tag=None,
                warn=lambda message: None,
            )

        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert recorder.ledger().count() == 10  # a reader (a budget check) sees every row queued so far
        one()
        recorder.close()
        assert ledger.count() == 11
    assert sum(batches) == 11 and len(batches) <= 3  # in batches, not a transaction per row


def test_a_deferred_row_after_a_quiet_spell_is_written_within_every_s(tmp_path: Path) -> None:
    """The writer sleeps while nothing is queued; the next row wakes it, so a slow gateway's rows reach the
    ledger within ``every_s`` (another process's `relay cost` sees them), not when 64 have piled up."""
    import time

    prices = PriceTable.load(CACHE_PRICES)
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as ledger:
        recorder = Recorder(ledger=lambda: ledger, prices=lambda: prices, now=lambda: NOW, deferred=True, every_s=0.02)
        try:
            for expected in (1, 2):  # the first row starts the writer; the second comes after it went idle
                recorder.record(
                    command="serve",
                    profile=PROFILE,
                    model_requested="house-model",
                    result=_result(model="house-model"),
                    outcome="ok",
                    error=None,
                    tag=None,
                    warn=lambda message: None,
                )
                deadline = time.monotonic() + 5
                with Ledger.open(path) as reader:  # as another process reads it, without flushing the queue
                    while reader.count() < expected and time.monotonic() < deadline:
                        time.sleep(0.01)
                    assert reader.count() == expected
                time.sleep(0.1)
        finally:
            recorder.close()
