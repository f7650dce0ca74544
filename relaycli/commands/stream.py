"""``relay stream``: one answer, streamed to stdout as it arrives."""

from __future__ import annotations

import typer

from relaycli.commands.options import body_params, finite


def stream(
    prompt: list[str] | None = typer.Argument(None, help="The prompt. Text on stdin is appended after it."),
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to use."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model or alias."),
    system: str | None = typer.Option(None, "-s", "--system", help="System prompt."),
    temperature: float | None = typer.Option(
        None, "-t", "--temperature", min=0.0, max=2.0, callback=finite, help="Sampling temperature, 0 to 2."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Cap on output tokens."),
    param: list[str] | None = typer.Option(
        None,
        "-o",
        "--param",
        metavar="NAME=VALUE",
        help="Another body field, e.g. -o top_p=0.9 -o seed=7 -o 'stop=[\"END\"]' (VALUE as JSON, else text).",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the response cache."),
    refresh: bool = typer.Option(False, "--refresh", help="Ask the endpoint again and overwrite the stored answer."),
    cache_only: bool = typer.Option(
        False, "--cache-only", help="Answer from the cache or fail (exit 1); never ask the endpoint."
    ),
    replay_timing: bool = typer.Option(
        False, "--replay-timing", help="Replay a cached answer at the pace it first arrived."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document instead of the text."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print a one-line summary on stderr."),
) -> None:
    """Stream one answer to stdout.

    The prompt comes from the arguments and/or stdin. An identical earlier request is answered from the
    response cache (`relay cache stats`). Every request is recorded in the usage ledger; `relay log` shows
    the latest. Exit codes: 0 ok, 3 config, 4 auth, 5 endpoint failed or truncated,
    6 timeout, 7 network, 8 rate limited, 130 Ctrl-C.
    """
    from relaycli.commands.streaming import run
    from relaycli.context import AppContext
    from relaycli.pipeline.request import CacheUse

    if no_cache and (refresh or cache_only) or (refresh and cache_only):
        raise typer.BadParameter("choose one of --no-cache, --refresh and --cache-only", param_hint="'--no-cache'")
    cache = CacheUse.from_flags(no_cache=no_cache, refresh=refresh, only=cache_only, paced=replay_timing)
    raise typer.Exit(
        run(
            AppContext(),
            prompt=prompt or [],
            profile=profile,
            model=model,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            params=body_params(param),
            cache=cache,
            json_out=json_out,
            verbose=verbose,
        )
    )
