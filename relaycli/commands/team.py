"""``relay team``: init, push and status of the shared team ledger on PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from relaycli.context import AppContext
    from relaycli.team.run import TeamInputs

app = typer.Typer(
    help="The shared team ledger on PostgreSQL: init, push, status.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

JSON = typer.Option(False, "--json", help="Print one JSON document.")


def _inputs(ctx: AppContext) -> TeamInputs:
    from relaycli.team.run import TeamInputs

    ctx.auto_push = False  # a team command is its own push
    return TeamInputs(settings=ctx.settings.team, env=ctx.env, ledger_path=ctx.paths.ledger, ledger=ctx.ledger)


@app.command("init")
def init() -> None:
    """Create the team ledger's schema in the database, or migrate it to this relay's version."""
    from relaycli.context import AppContext
    from relaycli.team.run import run_init

    ctx = AppContext()
    try:
        raise typer.Exit(run_init(_inputs(ctx), ctx.streams))
    finally:
        ctx.close()


@app.command("push")
def push(
    batch: int = typer.Option(20_000, "--batch", min=1, max=1_000_000, metavar="N", help="Rows per transaction."),
    json_out: bool = JSON,
) -> None:
    """Send this machine's ledger rows not yet in the team database (usage figures only, never prompts or
    answers). Safe to repeat or to interrupt: each batch lands whole or not at all, and a row is stored once."""
    from relaycli.context import AppContext
    from relaycli.team.run import run_push

    ctx = AppContext()
    try:
        raise typer.Exit(run_push(_inputs(ctx), ctx.streams, json_out=json_out, batch=batch))
    finally:
        ctx.close()


@app.command("status")
def status(json_out: bool = JSON) -> None:
    """What is waiting to be pushed, the last push, and the team database's totals."""
    from relaycli.context import AppContext
    from relaycli.team.run import run_status

    ctx = AppContext()
    try:
        raise typer.Exit(run_status(_inputs(ctx), ctx.streams, json_out=json_out))
    finally:
        ctx.close()
