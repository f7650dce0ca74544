"""``relay stream``: one answer, streamed to stdout as it arrives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from relaycli.commands.options import finite

if TYPE_CHECKING:
    from relaycli.context import AppContext


def stream(
    prompt: list[str] | None = typer.Argument(None, help="The prompt. Text on stdin is appended after it."),
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to use."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model or alias."),
    system: str | None = typer.Option(None, "-s", "--system", help="System prompt."),
    temperature: float | None = typer.Option(
        None, "-t", "--temperature", min=0.0, max=2.0, callback=finite, help="Sampling temperature, 0 to 2."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Cap on output tokens."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Always ask the endpoint (relay caches no answers yet)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document instead of the text."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print a one-line summary on stderr."),
) -> None:
    """Stream one answer to stdout.

    The prompt comes from the arguments and/or stdin. Every request is recorded in the usage ledger;
    `relay log` shows the latest. Exit codes: 0 ok, 3 config, 4 auth, 5 endpoint failed or truncated,
    6 timeout, 7 network, 8 rate limited, 130 Ctrl-C.
    """
    from relaycli.context import AppContext

    raise typer.Exit(
        run(
            AppContext(),
            prompt=prompt or [],
            profile=profile,
            model=model,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            json_out=json_out,
            verbose=verbose,
        )
    )


def run(
    ctx: AppContext,
    *,
    prompt: list[str],
    profile: str | None,
    model: str | None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    json_out: bool = False,
    verbose: bool = False,
) -> int:
    """``relay stream`` from a context: the profile and model chosen, then one request through the pipeline."""
    from relaycli.stream.run import StreamOptions, run_stream

    chosen = ctx.profile(profile)
    options = StreamOptions(
        prompt=prompt,
        model=ctx.model(chosen, model)[0],
        model_explicit=ctx.model_explicit(model),
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        json_out=json_out,
        verbose=verbose,
    )
    try:
        return run_stream(ctx.pipeline, ctx.streams, chosen, options)
    finally:
        ctx.close()
