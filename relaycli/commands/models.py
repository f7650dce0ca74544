"""``relay models``: what an endpoint offers, merged with aliases and known prices."""

from __future__ import annotations

import typer


def models(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to ask."),
    search: str | None = typer.Option(None, "--search", help="Only models whose id or alias contains TEXT."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List the models an endpoint offers, with aliases and prices.

    Prices are list prices in USD per 1M tokens, from the built-in table or your [prices] overrides.
    """
    from relaycli.context import AppContext
    from relaycli.models.run import run_models

    ctx = AppContext()
    chosen = ctx.profile(profile)
    with ctx.client(chosen, ctx.key(chosen)) as client:
        offered = client.list_models()
    raise typer.Exit(run_models(offered, chosen, ctx.prices, ctx.streams, search=search, json_out=json_out))
