"""``relay serve``: relay as a local OpenAI- and Anthropic-compatible gateway."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from relaycli.context import AppContext


def _log_format(value: str) -> str:
    if value not in ("text", "json"):
        raise typer.BadParameter(f"{value!r} is not one of text, json")
    return value


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1, or [serve] host)."),
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help="Port (default 8787, or [serve] port; 0 picks a free one)."
    ),
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile for models no route names."),
    log_format: str = typer.Option("text", "--log-format", callback=_log_format, help="Access log: text or json."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Server processes sharing the port."),
    hash_key: bool = typer.Option(
        False, "--hash-key", help="Read a client key from stdin, print its hash for [serve] keys, and exit."
    ),
) -> None:
    """Run relay as a local OpenAI- and Anthropic-compatible gateway.

    Serves /v1/chat/completions, /v1/messages, /v1/models, /v1/usage and /health on loopback. A client's
    model name picks the profile ([serve.routes] patterns, then aliases, then the default
    profile); fallbacks, budgets, the response cache, rate limits and circuit breakers apply as in
    `relay stream`, and every request gets its ledger row (command serve, tagged with the client key's
    name or X-Relay-Tag). The base URL is printed on stdout; the access log goes to stderr.
    """
    if hash_key:
        from relaycli.config.serve import hash_key as digest

        key = sys.stdin.readline().strip()
        if not key:
            raise typer.BadParameter("give the key on stdin: relay serve --hash-key < keyfile", param_hint="stdin")
        typer.echo(digest(key))
        return
    from relaycli.context import AppContext
    from relaycli.cost.run import CostInputs
    from relaycli.serve.count import TokenCounter
    from relaycli.serve.routing import Routes
    from relaycli.serve.run import ServeOptions, ServeServices, run_serve
    from relaycli.serve.usage import usage_document

    ctx = AppContext()
    try:
        settings = ctx.settings
        default = ctx.profile(profile)
        options = ServeOptions(
            host=host if host is not None else settings.serve.host,
            port=port if port is not None else settings.serve.port,
            log_format=log_format,
            workers=workers,
        )

        def build() -> ServeServices:
            """This process's services; with --workers, each worker's own, made after it is forked."""
            ctx.share_clients = True  # one client per profile: upstream connections kept alive
            ctx.on_loop = True  # requests sent from the server's event loop (core/bridge.py)
            ctx.defer_ledger = True  # rows written in small batches, off the requests' path
            inputs = CostInputs(
                ledger_path=ctx.paths.ledger,
                ledger=lambda: ctx.pipeline.recorder.ledger(),  # rows still queued are written first
                profiles=settings.profiles,
                prices=lambda: ctx.prices,
                env=ctx.env,
            )
            routes = Routes(settings.serve.routes, settings.profiles, default)
            return ServeServices(
                team_push=_team_pusher(ctx) if settings.team.configured and settings.team.push == "auto" else None,
                pipeline=ctx.pipeline,
                settings=settings,
                default=default,
                notes=ctx.notes,
                env=ctx.env,
                usage=lambda query: usage_document(inputs, query),
                count_tokens=TokenCounter(routes, ctx.key, ctx.shared_client, ctx.notes),
                close=ctx.close,
                stdout=ctx.streams.stdout,
                stderr=ctx.streams.stderr,
            )

        raise typer.Exit(run_serve(build, settings, ctx.env, ctx.notes, options))
    finally:
        ctx.close()


def _team_pusher(ctx: AppContext) -> Callable[[], None]:
    """The gateway's periodic push to the team ledger: the rows written so far; a failure warns once per
    five minutes (the rows stay queued, and the push at exit tries again)."""
    import time

    from relaycli.team.auto import push_after

    last_warning = [0.0]

    def warn(message: str) -> None:
        if time.monotonic() - last_warning[0] >= 300:
            last_warning[0] = time.monotonic()
            ctx.warn(message)

    def push() -> None:
        ledger = ctx.pipeline.recorder.ledger()  # the queued rows are written first
        push_after(ctx.settings.team, ctx.env, ledger, ctx.paths.ledger.parent, warn)

    return push
