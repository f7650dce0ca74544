"""``relay chat``: an interactive terminal chat (or one message per line from a pipe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from relaycli.commands.options import finite

if TYPE_CHECKING:
    from relaycli.chat.session import ChatServices
    from relaycli.config.profile import Profile
    from relaycli.context import AppContext


def chat(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to use."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model or alias."),
    system: str | None = typer.Option(None, "-s", "--system", help="System prompt."),
    temperature: float | None = typer.Option(
        None, "-t", "--temperature", min=0.0, max=2.0, callback=finite, help="Sampling temperature, 0 to 2."
    ),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Cap on output tokens per answer."),
    resume: bool = typer.Option(False, "-c", "--continue", help="Continue the last conversation."),
    conversation: int | None = typer.Option(None, "--conversation", metavar="ID", help="Continue conversation ID."),
    list_: bool = typer.Option(False, "--list", help="List recent conversations and exit."),
    count: int = typer.Option(20, "-n", "--count", min=1, help="How many conversations --list shows."),
    json_out: bool = typer.Option(False, "--json", help="With --list: one JSON document."),
    no_store: bool = typer.Option(False, "--no-store", help="Keep this conversation out of the ledger database."),
    plain: bool = typer.Option(False, "--plain", help="Plain text answers, even on a terminal."),
    cache: bool = typer.Option(
        False, "--cache", help="Answer a question asked before from the response cache (/retry asks again)."
    ),
) -> None:
    """Chat in the terminal: streamed markdown answers, slash commands, history.

    Type /help inside for the commands. A message over several lines goes between \"\"\" lines. With
    piped stdin every line is one message (or slash command) and the output is plain text.
    Conversations are stored in the ledger database (not with --no-store); -c continues the last one.
    """
    from relaycli.context import AppContext
    from relaycli.errors import UsageError

    if json_out and not list_:
        raise UsageError("--json goes with --list", hint="relay chat --list --json")
    ctx = AppContext()
    try:
        if list_:
            from relaycli.chat.listing import list_conversations

            ledger = ctx.ledger() if ctx.paths.ledger.exists() else None
            raise typer.Exit(list_conversations(ledger, ctx.streams, limit=count, json_out=json_out))
        from relaycli.chat.repl import ChatOptions, run_chat

        raise typer.Exit(
            run_chat(
                services(ctx),
                ctx.streams,
                ChatOptions(
                    profile=profile,
                    model=model,
                    system=system,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    resume_last=resume,
                    conversation=conversation,
                    store=not no_store,
                    plain=plain,
                    cache=cache,
                ),
            )
        )
    finally:
        ctx.close()


def services(ctx: AppContext) -> ChatServices:
    """What a chat needs, taken from the context."""
    from relaycli.chat.session import ChatServices
    from relaycli.config.loader import get_profile

    def profile(name: str | None) -> Profile:
        return ctx.profile(None) if name is None else get_profile(ctx.settings, name, "/profile")

    def models(chosen: Profile) -> list[str]:
        with ctx.client(chosen, ctx.key(chosen)) as client:
            return [info.id for info in client.list_models()]

    return ChatServices(
        pipeline=ctx.pipeline,
        profile=profile,
        profile_names=lambda: sorted(ctx.settings.profiles),
        default_model=lambda chosen: ctx.model(chosen, None)[0],
        prices=lambda: ctx.prices,
        ledger=ctx.ledger,
        models=models,
        history=ctx.paths.ledger.parent / "chat_history",
        env=ctx.env,
    )
