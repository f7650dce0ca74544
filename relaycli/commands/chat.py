"""``relay chat``: an interactive terminal chat (or one message per line from a pipe)."""

from __future__ import annotations

import typer


def chat(
    profile: str | None = typer.Option(None, "-p", "--profile", help="Profile to use."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model or alias."),
    system: str | None = typer.Option(None, "-s", "--system", help="System prompt."),
    temperature: float | None = typer.Option(None, "-t", "--temperature", min=0.0, max=2.0),
    max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Cap on output tokens per answer."),
    resume: bool = typer.Option(False, "-c", "--continue", help="Continue the last conversation."),
    conversation: int | None = typer.Option(None, "--conversation", metavar="ID", help="Continue conversation ID."),
    list_: bool = typer.Option(False, "--list", help="List recent conversations and exit."),
    count: int = typer.Option(20, "-n", "--count", min=1, help="How many conversations --list shows."),
    json_out: bool = typer.Option(False, "--json", help="With --list: one JSON document."),
    no_store: bool = typer.Option(False, "--no-store", help="Keep this conversation out of the ledger database."),
    plain: bool = typer.Option(False, "--plain", help="Plain text answers, even on a terminal."),
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
    if list_:
        from relaycli.chat.listing import list_conversations

        raise typer.Exit(list_conversations(ctx, limit=count, json_out=json_out))
    from relaycli.chat.repl import ChatOptions, run_chat

    raise typer.Exit(run_chat(ctx, ChatOptions(
        profile=profile, model=model, system=system, temperature=temperature, max_tokens=max_tokens,
        resume_last=resume, conversation=conversation, store=not no_store, plain=plain)))
