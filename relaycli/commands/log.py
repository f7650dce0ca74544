"""``relay log``: the most recent rows of the usage ledger."""

from __future__ import annotations

import json

import typer


def log(
    count: int = typer.Option(20, "-n", "--count", min=1, help="How many rows, newest last."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the latest requests from the usage ledger.

    One row per request: outcome, tokens, cost in the billing currency, TTFT, latency, retries.
    """
    from relaycli.context import AppContext
    from relaycli.log.view import log_rows

    ctx = AppContext()
    if not ctx.paths.ledger.exists():
        if json_out:
            ctx.stdout.write(json.dumps({"rows": []}) + "\n")
        else:
            ctx.note(f"no requests recorded yet ({ctx.paths.ledger} does not exist)")
        return
    rows = list(reversed(ctx.ledger().recent(count)))
    ctx.close()
    if json_out:
        ctx.stdout.write(json.dumps({"rows": log_rows(rows)}, ensure_ascii=False) + "\n")
        return
    from relaycli.usage.money import format_money
    from relaycli.output.tables import table

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f}"

    def tok(value: int | None) -> str:
        return "?" if value is None else f"{value:,}"

    table(ctx.stdout, isatty=ctx.stdout_isatty, title=None,
          columns=["time (UTC)", "command", "profile", "model", "outcome", "in", "out", "cost", "TTFT",
                   "ms", "retry"],
          rows=[[r.ts[5:19].replace("T", " "), r.command, r.profile, r.model_answered or r.model_requested,
                 r.outcome + (f" ({r.error_class})" if r.error_class else ""),
                 tok(r.prompt_tokens), tok(r.completion_tokens), format_money(r.cost_billed, r.currency),
                 ms(r.ttft_ms), ms(r.latency_ms), str(r.retries)] for r in rows],
          right=["in", "out", "cost", "TTFT", "ms", "retry"], whole=["time (UTC)"])
