"""``relay batch``: many prompts, one JSON line out per input line."""

from __future__ import annotations

from pathlib import Path

import typer

from relaycli.commands.options import body_params, finite


def _priority(value: str) -> str:
    if value not in ("low", "normal", "high"):
        raise typer.BadParameter(f"{value!r} is not one of low, normal, high")
    return value


def batch(
    file: str | None = typer.Argument(None, metavar="[FILE]", help="JSON lines or plain lines; '-' or none: stdin."),
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to use."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model or alias for lines that name none."),
    system: str | None = typer.Option(None, "-s", "--system", help="System prompt for lines that give none."),
    temperature: float | None = typer.Option(
        None, "-t", "--temperature", min=0.0, max=2.0, callback=finite, help="Sampling temperature, 0 to 2."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Cap on output tokens per request."),
    param: list[str] | None = typer.Option(
        None, "-o", "--param", metavar="NAME=VALUE", help="Another body field for every line (a line's own wins)."
    ),
    concurrency: int = typer.Option(4, "-c", "--concurrency", min=1, max=256, help="Requests in flight."),
    priority: str = typer.Option("low", "--priority", callback=_priority, help="low, normal or high."),
    output: Path | None = typer.Option(None, "-O", "--output", help="Write the lines to FILE (0600), not stdout."),
    resume: Path | None = typer.Option(None, "--resume", metavar="OUT", help="Skip ids done in OUT; append to it."),
    unordered: bool = typer.Option(False, "--unordered", help="Write lines as they finish, not in input order."),
    plain: bool = typer.Option(False, "--plain", help="Every line is a prompt, even one that starts with {."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the response cache."),
    refresh: bool = typer.Option(False, "--refresh", help="Ask again and overwrite the stored answers."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count requests, tokens and cost; send nothing."),
) -> None:
    """Send many prompts, one JSON line out per input line.

    FILE holds JSON lines ({"id", "prompt" | "messages", "system", "model", "max_tokens", "temperature",
    ...; other keys are body fields}) or plain lines (one prompt each; the id is the line number). Output
    lines come in input order: {"id", "text", "finish_reason", "usage", "cost", "cached", "latency_ms",
    "error", ...}. Ctrl-C stops sending and says how to resume (--resume OUT). Exit 0 when every line
    succeeded, else the exit code of the most common failure; 2 for a bad or repeated line in FILE.
    """
    from relaycli.batch.input import Defaults
    from relaycli.batch.run import BatchOptions, BatchServices, run_batch
    from relaycli.context import AppContext
    from relaycli.pipeline.request import CacheUse

    if no_cache and refresh:
        raise typer.BadParameter("choose one of --no-cache and --refresh", param_hint="'--no-cache'")
    if output is not None and resume is not None:
        raise typer.BadParameter("--resume OUT writes to OUT: drop -O", param_hint="'-O' / '--output'")
    ctx = AppContext()
    ctx.share_clients = True  # one client per profile: connections kept alive across the batch
    ctx.on_loop = True  # the requests run on one event loop (core/bridge.py)
    ctx.defer_ledger = True  # rows written in small batches, off the requests' path
    try:
        chosen = ctx.profile(profile)
        asked = model or ctx.env.get("RELAY_MODEL") or chosen.default_model
        defaults = Defaults(asked, ctx.model_explicit(model), system, temperature, max_tokens, body_params(param))
        options = BatchOptions(
            input=file,
            defaults=defaults,
            plain=plain,
            concurrency=concurrency,
            priority=priority,  # type: ignore[arg-type]  # checked by _priority
            cache=CacheUse.from_flags(no_cache=no_cache, refresh=refresh),
            output=output,
            resume=resume,
            ordered=not unordered,
            dry_run=dry_run,
        )
        services = BatchServices(lambda: ctx.pipeline, ctx.streams, chosen, lambda: ctx.prices)
        raise typer.Exit(run_batch(services, options))
    finally:
        ctx.close()
