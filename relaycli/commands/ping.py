"""``relay ping``: reachability, key and latency check of one or more profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.context import AppContext


def ping(
    profile: list[str] | None = typer.Option(
        None, "-p", "--profile", help="Profile to check (repeat it) [every profile in the config]."
    ),
    model: str | None = typer.Option(None, "-m", "--model", help="Model for --chat [the profile's default]."),
    count: int = typer.Option(1, "--count", "-c", min=1, help="Check each profile N times, like ping(8)."),
    interval: float = typer.Option(1.0, "--interval", "-i", min=0, help="Seconds between checks with --count."),
    chat: bool = typer.Option(False, "--chat", help="Also send a one-token completion and time its TTFT."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    reset: bool = typer.Option(
        False, "--reset", help="Close the -p profiles' circuits and clear their pauses first (shared by every process)."
    ),
) -> None:
    """Check that profiles answer and accept their keys, with timings.

    For each profile, on a fresh connection: DNS, TCP connect, TLS and time to first byte of GET /models,
    the HTTP status, whether the key was accepted (ok / rejected / missing, with its source) and the number
    of models; then its client-side limits (what is left, in flight, a pause the server asked for) and its
    circuit breaker (closed, open since when, next probe). Exit code 0 only when every profile answered and
    accepted its key; otherwise the code of the first failure: 3 missing key, 4 key rejected, 5 endpoint
    failed, 6 timeout, 7 network (DNS, refused, TLS), 8 rate limited.
    """
    import json

    from relaycli.bench.limits import finite
    from relaycli.context import AppContext
    from relaycli.errors import UsageError
    from relaycli.limits.status import look
    from relaycli.ping.report import attempt_line, render, to_json
    from relaycli.ping.run import ping_all

    finite("--interval", interval)
    if reset and not profile:
        raise UsageError("--reset needs -p NAME: the profile whose circuit to close")
    ctx = AppContext()
    profiles = select_profiles(ctx, profile or [])
    limits_db = ctx.limits_path
    if reset:
        reset_profiles(ctx, profiles)
    from relaycli.measure.sockets import proxy_warning

    for chosen in profiles:
        warning = proxy_warning(chosen.name, chosen.base_url, "relay ping")
        if warning:
            ctx.warn(warning)
    live = count > 1 and not json_out

    def show(report, attempt) -> None:  # type: ignore[no-untyped-def]
        if live:
            ctx.stdout.write(attempt_line(report, attempt, len(report.attempts)) + "\n")
            ctx.stdout.flush()

    try:
        reports = ping_all(
            ctx.measure_services(), profiles, count=count, interval=interval, chat=chat, model=model, on_attempt=show
        )
    finally:
        ctx.close()
    statuses = {status.profile.name: status for status in look(limits_db, [r.profile for r in reports])}
    if json_out:
        ctx.stdout.write(json.dumps(to_json(reports, statuses), ensure_ascii=False) + "\n")
    else:
        render(ctx.stdout, reports, isatty=ctx.stdout_isatty, limits=statuses)
    for report in reports:
        error = next((a.error for a in report.attempts if a.error is not None), None)
        if error is not None:
            ctx.stderr.write(f"relay: error: {error.message}\n")
    interrupted = next((r.interrupt_code for r in reports if r.interrupt_code), None)
    raise typer.Exit(interrupted or next((r.exit_code for r in reports if r.exit_code), 0))


def select_profiles(ctx: AppContext, names: Sequence[str]) -> list[Profile]:
    """The ``-p`` profiles; else every profile in the config file; else the built-in ones."""
    if names:
        return [ctx.profile(name) for name in names]
    settings = ctx.settings
    own = [p for name, p in settings.profiles.items() if name not in settings.builtin]
    return own or [settings.profiles[name] for name in sorted(settings.builtin)]


def reset_profiles(ctx: AppContext, profiles: Sequence[Profile]) -> None:
    """Close each profile's circuit and clear its pause in ``limits.db``, saying so on stderr."""
    from relaycli.limits.status import reset
    from relaycli.limits.store import LimitsUnavailable

    path = ctx.limits_path
    for chosen in profiles:
        try:
            had = reset(path, chosen)
        except LimitsUnavailable as exc:
            ctx.warn(f"profile {chosen.name!r}: could not reset: {exc.message}")
            continue
        what = "circuit closed and pause cleared" if had else "circuit already closed, no pause"
        ctx.note(f"profile {chosen.name!r}: {what}")
