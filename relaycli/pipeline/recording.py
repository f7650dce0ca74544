"""Turn a finished, failed, interrupted or truncated request into one ledger row. Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from relaycli.datatypes import Result, Usage
from relaycli.errors import APIError, RelayError
from relaycli.ledger import LedgerRow, utc_timestamp
from relaycli.usage.prices import PriceTable, billed, cost_usd
from relaycli.config.profile import Profile

__all__ = ["OUTCOMES", "build_row"]

OUTCOMES = frozenset({"ok", "error", "interrupted", "truncated"})


def build_row(
    *,
    command: str,
    profile: Profile,
    model_requested: str,
    result: Result | None,
    outcome: str,
    error: RelayError | None,
    prices: PriceTable,
    tag: str | None = None,
    now: Callable[[], datetime] | None = None,
) -> LedgerRow:
    """The ledger row for one request.

    The price is looked up by the model the endpoint says answered, else by the one requested. Cost is
    ``None`` when the model is unpriced or the usage unknown; the billed amount follows the profile's
    ``billing``. ``result`` may be partial (truncated or interrupted streams) or ``None`` (nothing came
    back).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    usage = result.usage if result is not None else Usage()
    answered = result.model if result is not None else None
    price = (prices.lookup(answered) if answered else None) or prices.lookup(model_requested)
    usd = cost_usd(usage, price)
    api_error = error if isinstance(error, APIError) else None
    timing = result.timing if result is not None else None
    return LedgerRow(
        ts=utc_timestamp((now or _utcnow)()),
        command=command,
        profile=profile.name,
        host=profile.host,
        protocol=profile.protocol,
        model_requested=model_requested,
        model_answered=answered,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        usage_raw=_json(usage.raw),
        price_source=price.source if price is not None else None,
        price_json=_json(price.as_dict()) if price is not None else None,
        cost_usd=usd,
        cost_billed=billed(usd, profile.billing) if usd is not None else None,
        currency=profile.billing.currency,
        per_usd=profile.billing.per_usd,
        latency_ms=timing.latency_ms if timing is not None else None,
        ttft_ms=timing.ttft_ms if timing is not None else None,
        retries=result.retries if result is not None else int(getattr(error, "retries", 0) or 0),
        http_status=(api_error.status if api_error is not None else None)
        or (result.status if result is not None else None),
        outcome=outcome,
        error_class=error.kind if error is not None else None,
        request_id=(result.request_id if result is not None else None)
        or (api_error.request_id if api_error is not None else None),
        finish_reason=result.finish_reason if result is not None else None,
        tag=tag,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _json(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
