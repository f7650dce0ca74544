"""``relay cost``: reports from the usage ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from datetime import datetime

    from relaycli.context import AppContext
    from relaycli.cost.run import CostOptions

DAY = "YYYY-MM-DD"


def cost(
    by: str = typer.Option(
        "month", "--by", metavar="KEYS", help="day|month|model|profile|tag (--team: user|machine), combinable."
    ),
    month: str | None = typer.Option(None, "--month", metavar="YYYY-MM", help="Only this month."),
    since: str | None = typer.Option(None, "--since", metavar=DAY, help="From this day on (inclusive)."),
    until: str | None = typer.Option(None, "--until", metavar=DAY, help="Up to this day (inclusive)."),
    profile: list[str] | None = typer.Option(None, "-p", "--profile", metavar="NAME", help="Only this profile."),
    model: list[str] | None = typer.Option(None, "-m", "--model", metavar="NAME", help="Only this model."),
    timezone: str | None = typer.Option(None, "--timezone", metavar="ZONE", help="For days (default: local)."),
    currency: str | None = typer.Option(None, "--currency", metavar="CODE", help="Only requests billed in CODE."),
    include_bench: bool = typer.Option(False, "--include-bench", help="Count `relay bench` requests too."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV."),
    compact: bool = typer.Option(False, "--compact", help="A narrower table (fits 80 columns)."),
    reprice: bool = typer.Option(False, "--reprice", help="Recompute stored costs with the current prices first."),
    project: int = typer.Option(
        0, "--project", min=0, max=24, metavar="N", help="Project the current month to its end, and N-1 more months."
    ),
    team: bool = typer.Option(False, "--team", help="Report from the team ledger (PostgreSQL): every machine."),
) -> None:
    """Report usage and cost from the ledger, by month, day, model or profile.

    Columns: requests, errors, input (cached input included), cached input and output tokens, the cost
    at list price in USD, the billed amount in the profile's currency and, for profiles with a
    `compare_to`, the direct-equivalent cost and the savings; when some requests were answered from the
    response cache (cost 0), their hits, hit rate and what they saved. Requests without a price are counted
    as unpriced, never as $0. -p and -m repeat. Money in --json and --csv is an exact decimal string.
    """
    from relaycli.context import AppContext
    from relaycli.cost.run import CostOptions
    from relaycli.errors import UsageError

    if json_out and csv_out:
        raise UsageError("choose one of --json and --csv")
    options = CostOptions(
        by=by,
        month=month,
        since=since,
        until=until,
        profiles=tuple(profile or ()),
        models=tuple(model or ()),
        timezone=timezone,
        currency=currency,
        include_bench=include_bench,
        output="json" if json_out else "csv" if csv_out else "table",
        compact=compact,
        reprice=reprice,
        project=project,
        team=team,
    )
    raise typer.Exit(run(AppContext(), options))


def run(ctx: AppContext, options: CostOptions, *, now: datetime | None = None) -> int:
    """``relay cost`` from a context (``now`` fixes "this month" for tests)."""
    from relaycli.cost.run import CostInputs, run_cost

    inputs = CostInputs(
        ledger_path=ctx.paths.ledger,
        ledger=ctx.ledger,
        profiles=ctx.settings.profiles,
        prices=lambda: ctx.prices,
        env=ctx.env,
        team=lambda: _team_source(ctx),
    )
    try:
        return run_cost(inputs, ctx.streams, options, now=now)
    finally:
        ctx.close()


def _team_source(ctx: AppContext):  # type: ignore[no-untyped-def]
    from relaycli.team.run import open_source

    return open_source(ctx.settings.team, ctx.env)
