"""``GET /v1/usage``: the ledger's figures for a period, as ``relay cost --json`` gives them, and the
latency of the requests behind them.

Query parameters are ``relay cost``'s options: ``month``, ``since``, ``until`` (local days), ``by``
(``month``, ``day``, ``model``, ``profile``, ``tag``..., comma-separated), ``profile``, ``model``,
``timezone``, ``currency``. The document is ``relay cost --json``'s for the same options (the same report
object makes both), with ``latency``: p50/p95/p99 of latency and time to first token in milliseconds,
overall, by model and by profile, over the successful live requests of the period.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from relaycli.bench.stats import percentile
from relaycli.cost.run import CostInputs, CostOptions, run_cost, window
from relaycli.errors import RelayError
from relaycli.output.streams import Streams
from relaycli.usage.periods import resolve_zone

__all__ = ["usage_document"]

_OPTIONS = ("by", "month", "since", "until", "profile", "model", "timezone", "currency")


def usage_document(inputs: CostInputs, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    unknown = sorted(set(query) - set(_OPTIONS))
    if unknown:
        return 400, _problem(f"unknown parameter {unknown[0]!r}; known: {', '.join(_OPTIONS)}")
    options = CostOptions(
        by=query.get("by") or "month",
        month=query.get("month") or None,
        since=query.get("since") or None,
        until=query.get("until") or None,
        profiles=tuple(p for p in query.get("profile", "").split(",") if p),
        models=tuple(m for m in query.get("model", "").split(",") if m),
        timezone=query.get("timezone") or None,
        currency=query.get("currency") or None,
        output="json",
    )
    out = io.StringIO()
    try:
        run_cost(inputs, Streams(stdin=io.StringIO(), stdout=out, stderr=io.StringIO()), options)
        doc: dict[str, Any] = json.loads(out.getvalue())
        doc["latency"] = _latency(inputs, options)
    except RelayError as exc:
        return 400, _problem(exc.message)
    return 200, doc


def _latency(inputs: CostInputs, options: CostOptions) -> dict[str, Any]:
    from relaycli.ledger.queries import Where, latencies

    if not inputs.ledger_path.exists():
        rows: list[tuple[str, str, float | None, float | None]] = []
    else:
        span = window(options, resolve_zone(options.timezone, inputs.env))
        where = Where(profiles=options.profiles, models=options.models, currency=options.currency)
        rows = latencies(inputs.ledger(), since=span.since, until=span.until, where=where)
    by_model: dict[str, list[tuple[float | None, float | None]]] = {}
    by_profile: dict[str, list[tuple[float | None, float | None]]] = {}
    for model, profile, latency, ttft in rows:
        by_model.setdefault(model, []).append((latency, ttft))
        by_profile.setdefault(profile, []).append((latency, ttft))
    return {
        **_figures([(latency, ttft) for _, _, latency, ttft in rows]),
        "by_model": {name: _figures(values) for name, values in sorted(by_model.items())},
        "by_profile": {name: _figures(values) for name, values in sorted(by_profile.items())},
    }


def _figures(values: Sequence[tuple[float | None, float | None]]) -> dict[str, Any]:
    latency = sorted(v for v, _ in values if v is not None)
    ttft = sorted(t for _, t in values if t is not None)
    return {
        "requests": len(values),
        "latency_ms": {f"p{q}": _percentile(latency, q) for q in (50, 95, 99)},
        "ttft_ms": {f"p{q}": _percentile(ttft, q) for q in (50, 95, 99)},
    }


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile of sorted values (``relay bench``'s interpolation); None for none."""
    return round(percentile(ordered, q / 100), 3) if ordered else None


def _problem(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
