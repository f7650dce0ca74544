"""``relay stream``: one answer, streamed to stdout as it arrives."""

from __future__ import annotations

from typing import Optional

import typer


def stream(
    prompt: Optional[list[str]] = typer.Argument(None, help="The prompt. Text on stdin is appended after it."),  # noqa: UP045
    profile: Optional[str] = typer.Option(None, "-p", "--profile", help="Profile to use."),  # noqa: UP045
    model: Optional[str] = typer.Option(None, "-m", "--model", help="Model or alias."),  # noqa: UP045
    system: Optional[str] = typer.Option(None, "-s", "--system", help="System prompt."),  # noqa: UP045
    temperature: Optional[float] = typer.Option(None, "-t", "--temperature", min=0.0, max=2.0),  # noqa: UP045
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", min=1, help="Cap on output tokens."),  # noqa: UP045
    no_cache: bool = typer.Option(False, "--no-cache", help="Always ask the endpoint."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document instead of the text."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Print a one-line summary on stderr."),
) -> None:
    """Stream one answer to stdout. Every request is recorded in the usage ledger."""
    from ..context import AppContext
    from ..streaming import run_stream

    raise typer.Exit(run_stream(AppContext(), prompt=prompt or [], profile_flag=profile, model_flag=model,
                                system=system, temperature=temperature, max_tokens=max_tokens,
                                json_out=json_out, verbose=verbose))
