"""``relay demo``: a guided offline tour on the built-in local relay."""

from __future__ import annotations

import typer


def demo(
    keep: bool = typer.Option(False, "--keep", help="Keep the throwaway RELAY_HOME and print where it is."),
    fast: bool = typer.Option(False, "--fast", help="No pacing between tokens (for scripts and tests)."),
) -> None:
    """Run relay's main commands against a local relay, in a throwaway RELAY_HOME. Needs no key or network."""
    from ..demo import run_demo

    raise typer.Exit(run_demo(keep=keep, fast=fast))
