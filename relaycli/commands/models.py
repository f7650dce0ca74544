"""``relay models``: what an endpoint offers, merged with aliases and known prices."""

from __future__ import annotations

import json

import typer


def models(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to ask."),
    search: str | None = typer.Option(None, "--search", help="Only models whose id or alias contains TEXT."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List the models an endpoint offers, with aliases and prices.

    Prices are list prices in USD per 1M tokens, from the built-in table or your [prices] overrides.
    """
    from relaycli.models.run import list_models
    from relaycli.context import AppContext

    ctx = AppContext()
    chosen = ctx.profile(profile)
    entries = list_models(ctx, chosen, search)
    if json_out:
        ctx.stdout.write(json.dumps({"profile": chosen.name, "models": entries}, ensure_ascii=False) + "\n")
        return
    from relaycli.output.tables import table

    def price(entry: dict, field: str) -> str:
        value = (entry["price"] or {}).get(field)
        return "-" if value is None else f"${value:g}"

    rows = [[e["id"], ", ".join(e["aliases"]), price(e, "input"), price(e, "cached_input"), price(e, "output"),
             f"{e['context_window']:,}" if e.get("context_window") else "-"] for e in entries]
    table(ctx.stdout, isatty=ctx.stdout_isatty, title=f"{len(rows)} models on {chosen.name} ({chosen.host})",
          columns=["model", "aliases", "input/1M", "cached/1M", "output/1M", "context"], rows=rows,
          right=["input/1M", "cached/1M", "output/1M", "context"])
    if not rows and search:
        ctx.note(f"no model matches {search!r}")
