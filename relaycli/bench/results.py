"""Records -> what a run found: per-target metrics (BENCH.md), comparisons with confidence intervals and
verdicts, the JSON document (CONTRACT.md ``bench --json``), and the ledger rows (tag ``bench``)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from relaycli.bench.analyze import EMPTY, Record
from relaycli.bench.formulas import FORMULAS, OUTPUT_TOKENS, PERCENTILES
from relaycli.bench.setup import Target
from relaycli.bench.stats import COMPARED, P95_MIN_N, P99_MIN_N, difference, summarize, verdict
from relaycli.datatypes import Result, Timing
from relaycli.errors import RelayError
from relaycli.ledger import LedgerRow
from relaycli.pipeline.recording import build_row
from relaycli.usage.prices import PriceTable

SAMPLED = (
    "ttfb_ms",
    "ttft_ms",
    "latency_ms",
    "tpot_ms",
    "output_tokens_per_s",
    "corrected_latency_ms",
    "schedule_lag_ms",
)
# (metric, label for people, unit, higher is better)
COMPARE_METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("ttft_ms", "TTFT", "ms", False),
    ("latency_ms", "latency", "ms", False),
    ("ttfb_ms", "TTFB", "ms", False),
    ("tpot_ms", "TPOT", "ms", False),
    ("output_tokens_per_s", "output tokens/s", "tok/s", True),
)


def _ms(a: int | None, b: int | None) -> float | None:
    return None if a is None or b is None else (b - a) / 1e6


def request_values(rec: Record) -> dict[str, float | None]:
    """The per-request metrics of one record (``None`` where one does not apply)."""
    out = rec.output_tokens
    latency = _ms(rec.t_send, rec.t_end)
    tpot = None
    if out is not None and out >= 2 and rec.t_first_token is not None and rec.t_last_token is not None:
        tpot = (rec.t_last_token - rec.t_first_token) / (out - 1) / 1e6
    return {
        "ttfb_ms": _ms(rec.t_send, rec.t_headers),
        "ttft_ms": _ms(rec.t_send, rec.t_first_token),
        "latency_ms": latency,
        "tpot_ms": tpot,
        "output_tokens_per_s": out / (latency / 1e3) if out is not None and latency else None,
        "corrected_latency_ms": _ms(rec.t_sched, rec.t_end),
        "schedule_lag_ms": _ms(rec.t_sched, rec.t_send),
    }


def samples(records: Sequence[Record]) -> dict[str, list[float]]:
    """Per metric, the values of the successful measured requests (errors never enter the percentiles)."""
    out: dict[str, list[float]] = {name: [] for name in SAMPLED}
    out["chunk_gap_ms"] = []
    for rec in records:
        if rec.warmup or not rec.ok:
            continue
        for name, value in request_values(rec).items():
            if value is not None:
                out[name].append(value)
        out["chunk_gap_ms"].extend(g / 1e6 for g in rec.gaps_ns)
    return out


def target_metrics(
    target: Target, records: Sequence[Record], rows: Sequence[tuple[LedgerRow, Record]]
) -> dict[str, Any]:
    """``rows``: the measured requests' ledger rows, each with its record."""
    measured = [r for r in records if not r.warmup]
    ok = [r for r in measured if r.ok]
    values = samples(measured)
    errors = Counter(r.error for r in measured if r.error)
    examples = {}
    for r in measured:
        if r.error and r.error not in examples:
            examples[r.error] = r.detail
    tokens: list[int] = [r.output_tokens for r in ok if r.output_tokens is not None]
    total_tokens = sum(tokens)
    window = (max(r.t_end for r in ok) - min(r.t_send for r in ok)) / 1e9 if ok else 0
    cost = costs(rows)
    total_cost = cost.total
    doc: dict[str, Any] = {
        "label": target.label,
        "profile": target.profile.name,
        "model": target.model,
        "host": target.profile.host,
        "protocol": target.profile.protocol,
        "requests": len(measured),
        "ok": len(ok),
        "errors": dict(sorted(errors.items())),
        "error_examples": examples,
    }
    for name in SAMPLED + ("chunk_gap_ms",):
        if name in ("corrected_latency_ms", "schedule_lag_ms") and not values[name]:
            continue
        doc[name] = summarize(values[name])
    doc["chunks_per_request"] = summarize([float(r.chunks) for r in ok])
    doc["tokens_per_chunk"] = summarize([r.output_tokens / r.chunks for r in ok if r.chunks and r.output_tokens])
    doc["output_tokens"] = total_tokens
    doc["output_tokens_estimated"] = any(r.tokens_estimated for r in ok)
    doc["throughput_tokens_per_s"] = total_tokens / window if window > 0 else None
    doc["new_connections"] = sum(1 for r in measured if not r.reused)
    # money as exact decimal strings (averages to the pico-dollar the ledger keeps)
    doc["cost_usd"] = _money(total_cost / cost.priced_ok) if total_cost is not None and cost.priced_ok else None
    doc["cost_usd_total"] = _money(total_cost)
    doc["cost_per_1k_output_usd"] = (
        _money(total_cost / cost.priced_tokens * 1000) if total_cost is not None and cost.priced_tokens else None
    )
    doc["priced_requests"] = cost.priced
    doc["unpriced_requests"] = cost.unpriced
    doc["empty"] = errors.get("empty", 0)
    return doc


def _money(amount: Decimal | None) -> str | None:
    from relaycli.output.money import decimal_string

    return None if amount is None else decimal_string(amount.quantize(Decimal("1e-12")))


@dataclass(frozen=True, slots=True)
class Costs:
    total: Decimal | None  # the priced requests' sum; None only when requests cost something and none is priced
    priced: int  # requests with a cost
    priced_ok: int  # successful ones among them: the per-request figure divides by these
    priced_tokens: int  # their output tokens: the per-1k-output figure divides by these
    unpriced: int  # requests that cost something unknown (no price for the model, or no usage reported)


def costs(rows: Sequence[tuple[LedgerRow, Record]]) -> Costs:
    """Sums over the priced requests; the others are counted, as in ``relay cost``: a failed request that
    reported no usage (the endpoint refused it) costs nothing and is not unpriced."""
    priced = [(row, rec) for row, rec in rows if row.cost_usd is not None]
    unpriced = sum(1 for row, _ in rows if row.cost_usd is None and not _free_failure(row))
    total = sum((row.cost_usd for row, _ in priced if row.cost_usd is not None), Decimal(0))
    ok = [row for row, rec in priced if rec.ok]
    return Costs(
        total=None if unpriced and not priced else total,
        priced=len(priced),
        priced_ok=len(ok),
        priced_tokens=sum(row.completion_tokens or 0 for row in ok),
        unpriced=unpriced,
    )


def _free_failure(row: LedgerRow) -> bool:
    """A request the endpoint refused (an error before any content, no usage): it cost nothing."""
    return (
        row.outcome == "error" and row.prompt_tokens is None and row.completion_tokens is None and row.ttft_ms is None
    )


def empty_warnings(labels: Sequence[str], records: Sequence[Record]) -> list[str]:
    """Empty answers (HTTP 200, no content, 0 output tokens: a gateway whose upstream cut off) are their
    own error class, left out of the percentiles; say so, since the endpoint called them a success."""
    out = []
    for index, label in enumerate(labels):
        measured = [r for r in records if r.target == index and not r.warmup]
        empty = sum(1 for r in measured if r.error == "empty")
        if empty:
            out.append(
                f"{label}: {empty} of {len(measured)} answers were empty (HTTP 200 with no content and 0 "
                "output tokens); they are counted as errors (empty), not in the percentiles"
            )
    return out


def comparisons(
    labels: Sequence[str], per_target: Sequence[dict[str, list[float]]], baseline: int, *, seed: int, reps: int = 2000
) -> list[dict[str, Any]]:
    """Each target against the baseline: the difference at p50/p95/p99 of every compared metric, with a
    bootstrap 95 % CI (seeded), the improvement and a verdict."""
    out = []
    rng = random.Random(f"bootstrap:{seed}")
    base_label = labels[baseline]
    for index, label in enumerate(labels):
        if index == baseline:
            continue
        for metric, name, unit, higher in COMPARE_METRICS:
            for quantile, q in COMPARED:
                d = difference(per_target[baseline][metric], per_target[index][metric], quantile, q, reps=reps, rng=rng)
                if d is None:
                    continue
                change = d.change
                better = None if change is None else (change if higher else -change) * 100
                out.append(
                    {
                        "baseline": base_label,
                        "target": label,
                        "metric": metric,
                        "quantile": quantile,
                        "baseline_value": d.base,
                        "value": d.other,
                        "difference": d.diff,
                        "ci95": [d.low, d.high],
                        "n": [d.n_base, d.n_other],
                        "significant": d.significant,
                        "reliable": d.reliable,
                        "improvement_pct": better,
                        "verdict": verdict(
                            d, metric=name, base=base_label, other=label, unit=unit, higher_is_better=higher
                        ),
                    }
                )
    return out


def config_block(**settings: Any) -> dict[str, Any]:
    return {
        **settings,
        "metrics": FORMULAS,
        "output_tokens": OUTPUT_TOKENS,
        "percentiles": PERCENTILES,
        "reliability": {"p95_min_n": P95_MIN_N, "p99_min_n": P99_MIN_N},
        "comparison": "difference = target - baseline at each quantile; percentile bootstrap 95 % CI "
        "(seeded); improvement = how much better the target is than the baseline, in %",
    }


def record_dict(rec: Record, label: str, t0: int) -> dict[str, Any]:
    """One request for ``--json --raw``: times in ms from the start of the run."""
    values = request_values(rec)

    def rel(t: int | None) -> float | None:
        return None if t is None else round((t - t0) / 1e6, 4)

    return {
        "target": label,
        "seq": rec.seq,
        "warmup": rec.warmup,
        "ok": rec.ok,
        "status": rec.status or None,
        "error": rec.error,
        "detail": rec.detail or None,
        "t_sched_ms": rel(rec.t_sched),
        "t_send_ms": rel(rec.t_send),
        **{k: None if v is None else round(v, 4) for k, v in values.items()},
        "output_tokens": rec.output_tokens,
        "tokens_estimated": rec.tokens_estimated,
        "chunks": rec.chunks,
        "chunk_gaps_ms": [round(g / 1e6, 4) for g in rec.gaps_ns],
        "request_id": rec.request_id,
        "model": rec.model,
        "reused_connection": rec.reused,
        "connect_ms": _ms(0, rec.connect_ns),
        "tls_ms": _ms(0, rec.tls_ns),
    }


def _error(rec: Record) -> RelayError | None:
    return rec.failure


def ledger_row(
    rec: Record, target: Target, prices: PriceTable, *, wall_t0: datetime, t0: int, command: str = "bench"
) -> LedgerRow:
    """The ledger row of one bench request (warm-ups included: they were real requests), tagged with the
    command's name."""
    sent_at = wall_t0 + timedelta(microseconds=(rec.t_send - t0) / 1e3)
    timing = Timing(
        started_at=sent_at.isoformat(timespec="milliseconds"),
        t_start=rec.t_send,
        t_send=rec.t_send,
        t_headers=rec.t_headers,
        t_first_token=rec.t_first_token,
        t_last_token=rec.t_last_token,
        t_end=rec.t_end,
    )
    empty = rec.error == EMPTY  # answered in full, with nothing: for the ledger an ordinary request
    result = Result(
        text="",
        model=rec.model,
        finish_reason=rec.finish_reason,
        usage=rec.usage,
        request_id=rec.request_id,
        timing=timing,
        status=rec.status or None,
        complete=rec.ok or empty,
    )
    outcome = "ok" if rec.ok or empty else rec.error if rec.error in ("truncated", "interrupted") else "error"
    return build_row(
        command=command,
        profile=target.profile,
        model_requested=target.model,
        result=result,
        outcome=outcome,
        error=None if empty else _error(rec),
        prices=prices,
        tag=command,
        now=lambda: sent_at,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value
