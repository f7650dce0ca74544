"""``relay demo``: a guided offline tour on the built-in local relay."""

from __future__ import annotations

import typer


def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep the throwaway RELAY_HOME and print where it is."),
    fast: bool = typer.Option(False, "--fast", help="No pacing between tokens (for scripts and tests)."),
) -> None:
    """A guided offline tour on the built-in local relay.

    Runs relay's main commands in a throwaway RELAY_HOME. Needs no key and no network.
    """
    from relaycli.demo.tour import run_demo

    raise typer.Exit(run_demo(keep=keep, fast=fast))
