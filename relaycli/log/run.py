"""``relay log``: the most recent rows of the usage ledger, as a table or JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from relaycli.log.view import log_rows

if TYPE_CHECKING:
    from relaycli.ledger import LedgerRow
    from relaycli.output.streams import Streams

# Left out first when the terminal is narrow; the time, profile and model always stay.
DROP_FIRST = ["retry", "TTFT", "command", "ms", "in", "out", "cost", "outcome"]
CACHED = "·cached"  # after the outcome of a request answered from the response cache: "ok·cached"


def outcome(row: LedgerRow) -> str:
    """``ok``, ``ok·cached`` (answered from the response cache), ``error (RateLimited)``."""
    return row.outcome + (CACHED if row.cached else "") + (f" ({row.error_class})" if row.error_class else "")


def run_log(rows: list[LedgerRow], streams: Streams, *, json_out: bool) -> int:
    """Write ``rows`` (oldest first)."""
    if json_out:
        streams.stdout.write(json.dumps({"rows": log_rows(rows)}, ensure_ascii=False) + "\n")
        return 0
    from relaycli.output.tables import table
    from relaycli.usage.money import format_money

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    def tok(value: int | None) -> str:
        return "?" if value is None else f"{value:,}"

    table(
        streams.stdout,
        isatty=streams.stdout_isatty,
        title=None,
        columns=["time (UTC)", "command", "profile", "model", "outcome", "in", "out", "cost", "TTFT", "ms", "retry"],
        rows=[
            [
                r.ts[5:19].replace("T", " "),
                r.command,
                r.profile,
                r.model_answered or r.model_requested,
                outcome(r),
                tok(r.prompt_tokens),
                tok(r.completion_tokens),
                format_money(r.cost_billed, r.currency),
                ms(r.ttft_ms),
                ms(r.latency_ms),
                str(r.retries),
            ]
            for r in rows
        ],
        right=["in", "out", "cost", "TTFT", "ms", "retry"],
        whole=["time (UTC)", "command", "profile", "model"],
        shorten=["outcome"],
        drop=DROP_FIRST,
        note=streams.note,
    )
    return 0
