"""``relay log``: the most recent rows of the usage ledger."""

from __future__ import annotations

import typer


def _at_most_all(count: int) -> int:
    return min(count, 10**9)  # a huge count means every row (SQLite's LIMIT is a 64-bit integer)


def log(
    count: int = typer.Option(20, "-n", "--count", min=1, callback=_at_most_all, help="How many rows, newest last."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show the latest requests from the usage ledger.

    One row per request: outcome ("ok·cached" for an answer from the response cache, which cost nothing),
    tokens, cost in the billing currency, TTFT, latency, retries. --json rows carry every ledger field,
    `cached`, `saved_usd` and `saved_billed` (what a cached answer would have cost) included.
    """
    from relaycli.context import AppContext
    from relaycli.log.run import run_log

    ctx = AppContext()
    if not ctx.paths.ledger.exists():
        if not json_out:
            ctx.note(f"no requests recorded yet ({ctx.paths.ledger} does not exist)")
            return
        rows = []
    else:
        try:
            rows = list(reversed(ctx.ledger().recent(count)))
        finally:
            ctx.close()
    raise typer.Exit(run_log(rows, ctx.streams, json_out=json_out))
