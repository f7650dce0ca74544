"""``relay cache``: stats, list, prune, clear and path of the disk response cache."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Inspect and clean the disk response cache.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

JSON = typer.Option(False, "--json", help="Print one JSON document.")


def _duration(value: str | None) -> float | None:
    from relaycli.config.cache import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command("stats")
def stats(json_out: bool = JSON) -> None:
    """Entries, size, hits, hit rate, money saved, oldest and newest entry."""
    from relaycli.cache.run import cache_stats
    from relaycli.context import AppContext

    ctx = AppContext()
    raise typer.Exit(cache_stats(ctx.cache_path, ctx.settings.cache, ctx.streams, json_out=json_out))


@app.command("list")
def list_entries(
    count: int = typer.Option(20, "-n", "--count", min=1, max=10**9, help="How many, most recently stored first."),
    profile: str | None = typer.Option(None, "-p", "--profile", help="Only this profile's answers."),
    show_prompts: bool = typer.Option(
        False, "--show-prompts", help="Also show the prompts (they are hidden by default)."
    ),
    json_out: bool = JSON,
) -> None:
    """Recent entries: key, age, profile, model, size, hits. Prompts only with --show-prompts."""
    from relaycli.cache.run import cache_list
    from relaycli.context import AppContext

    ctx = AppContext()
    raise typer.Exit(
        cache_list(
            ctx.cache_path, ctx.streams, count=count, profile=profile, show_prompts=show_prompts, json_out=json_out
        )
    )


@app.command("prune")
def prune(json_out: bool = JSON) -> None:
    """Remove expired entries ([cache] ttl), then the least recently used ones while over max_size."""
    from relaycli.cache.run import cache_prune
    from relaycli.context import AppContext

    ctx = AppContext()
    raise typer.Exit(cache_prune(ctx.cache_path, ctx.settings.cache, ctx.streams, json_out=json_out))


@app.command("clear")
def clear(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Only this profile's answers."),
    older_than: str | None = typer.Option(
        None, "--older-than", metavar="DURATION", help='Only answers stored before this long ago: "12h", "7d", 3600.'
    ),
    json_out: bool = JSON,
) -> None:
    """Remove every stored answer, or only a profile's, or only the older ones."""
    from relaycli.cache.run import cache_clear
    from relaycli.context import AppContext

    seconds = _duration(older_than)
    ctx = AppContext()
    raise typer.Exit(cache_clear(ctx.cache_path, ctx.streams, profile=profile, older_than_s=seconds, json_out=json_out))


@app.command("path")
def path() -> None:
    """Print where the cache file lives."""
    from relaycli.context import AppContext

    ctx = AppContext()
    ctx.stdout.write(f"{ctx.cache_path}\n")
