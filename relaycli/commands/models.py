"""``relay models``: what an endpoint offers, merged with aliases and known prices."""

from __future__ import annotations

import typer


def models(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to ask."),
    search: str | None = typer.Option(None, "--search", help="Only models whose id or alias contains TEXT."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    names: bool = typer.Option(False, "--names", help="Only the names (ids and aliases), one per line."),
    offline: bool = typer.Option(
        False, "--offline", help="With --names: the aliases and the price table's models, without a request."
    ),
) -> None:
    """List the models an endpoint offers, with aliases and prices.

    Prices are list prices in USD per 1M tokens, from the built-in table or your [prices] overrides.
    `relay models --names --offline` lists the names relay knows without asking the endpoint (shell
    completion uses it).
    """
    from relaycli.context import AppContext

    ctx = AppContext()
    if offline:
        from relaycli.models.names import offline_names, write_names

        if not names:
            from relaycli.errors import UsageError

            raise UsageError("--offline lists names only", hint="add --names: relay models --names --offline")
        profiles = [ctx.profile(profile)] if profile else list(ctx.settings.profiles.values())
        raise typer.Exit(
            write_names(offline_names(profiles, ctx.settings.prices, ctx.prices), ctx.streams, search=search)
        )
    chosen = ctx.profile(profile)
    with ctx.client(chosen, ctx.key(chosen)) as client:
        offered = client.list_models()
    if names:
        from relaycli.models.names import offered_names, write_names

        raise typer.Exit(write_names(offered_names(offered, chosen), ctx.streams, search=search))
    from relaycli.models.run import run_models

    raise typer.Exit(run_models(offered, chosen, ctx.prices, ctx.streams, search=search, json_out=json_out))
