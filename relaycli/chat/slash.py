"""Slash commands of `relay chat`: ``/help``, ``/model``, ``/retry``, ... and their Tab completion.

A line that starts with ``/`` is a command, never sent to the model; ``//`` sends a message that starts
with ``/``. An unknown command gets a hint.
"""

from __future__ import annotations

import difflib
import glob
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from relaycli.chat.clipboard import NO_CLIPBOARD, copy
from relaycli.chat.conversation import to_markdown
from relaycli.chat.session import ChatSession
from relaycli.errors import RelayError, UsageError
from relaycli.paths import write_private

EXIT = object()
Result = object | None


@dataclass(frozen=True, slots=True)
class Command:
    run: Callable[[ChatSession, str], Result]
    args: str
    help: str


def _help(session: ChatSession, arg: str) -> Result:
    width = max(len(f"/{name} {c.args}".rstrip()) for name, c in COMMANDS.items())
    lines = [f"  {f'/{name} {c.args}'.rstrip():<{width}}  {c.help}" for name, c in COMMANDS.items()]
    keys = [
        ('""" ... """', 'a message over several lines: start with """, end a line with """'),
        ("//text", "send a message that starts with /"),
        ("Tab", "complete commands, model and profile names"),
        ("Up, Down", "earlier messages (kept across sessions)"),
        ("Ctrl-C", "stop the answer that is streaming; twice at an empty prompt to exit"),
        ("Ctrl-D", "exit"),
    ]
    lines += ["", *(f"  {key:<{width}}  {text}" for key, text in keys)]
    session.view.info("\n".join(lines))
    return None


def _model(session: ChatSession, arg: str) -> Result:
    if not arg:
        session.view.info(
            f"model: {session.model} (profile {session.profile.name}); /model NAME to change, Tab completes names"
        )
        return None
    session.set_model(arg)
    wire = session.profile.resolve_model(arg)
    alias = f" (sent as {wire})" if wire != arg else ""
    session.view.info(f"model: {arg}{alias}")
    return None


def _profile(session: ChatSession, arg: str) -> Result:
    if not arg:
        names = ", ".join(session.services.profile_names())
        session.view.info(f"profile: {session.profile.name} ({session.profile.host}); profiles: {names}")
        return None
    session.set_profile(arg)
    session.view.info(f"profile: {session.profile.name} ({session.profile.host}), model: {session.model}")
    return None


def _system(session: ChatSession, arg: str) -> Result:
    if not arg:
        shown = session.system if session.system else "(none)"
        session.view.info(f"system prompt: {shown}; /system TEXT sets it, /system - removes it")
        return None
    session.set_system(None if arg == "-" else arg)
    session.view.info("system prompt removed" if arg == "-" else "system prompt set")
    return None


def _retry(session: ChatSession, arg: str) -> Result:
    if not session.retry():
        session.view.note("nothing to retry yet")
    return None


def _clear(session: ChatSession, arg: str) -> Result:
    session.clear()
    session.view.info("new conversation")
    return None


def _history(session: ChatSession, arg: str) -> Result:
    turns = session.conversation.turns()
    if not turns:
        session.view.info("no messages yet")
        return None
    lines = []
    for number, (question, answer) in enumerate(turns, start=1):
        unsent = "  (not sent: beyond the context window)" if number <= session.dropped_turns else ""
        lines.append(f"{number:>3}. you: {_short(question.content)}{unsent}")
        if answer is not None:
            who = answer.meta.model if answer.meta and answer.meta.model else "answer"
            stopped = " [interrupted]" if answer.meta and answer.meta.outcome == "interrupted" else ""
            lines.append(f"     {who}: {_short(answer.content)}{stopped}")
    session.view.info("\n".join(lines))
    return None


def _save(session: ChatSession, arg: str) -> Result:
    if not arg:
        raise UsageError("/save needs a file name", hint="/save chat.md")
    if not session.conversation.turns():
        session.view.note("nothing to save yet")
        return None
    path = Path(os.path.expanduser(arg))
    conversation = session.conversation
    label = f"conversation {conversation.id} · " if conversation.id is not None else ""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"relay chat · {label}{session.profile.name} · {session.model} · saved {when}"
    try:
        write_private(path, to_markdown(conversation, system=session.system, header=header))
    except OSError as exc:
        raise RelayError(f"cannot write {path}: {exc.strerror or exc}") from exc
    count = len(conversation.turns())
    session.view.info(f"saved {count} turn{'' if count == 1 else 's'} to {path}")
    return None


def _copy(session: ChatSession, arg: str) -> Result:
    last = session.conversation.last_answer()
    if last is None:
        session.view.note("no answer to copy yet")
        return None
    tool = copy(last.content, session.services.env)
    if tool is None:
        session.view.note(NO_CLIPBOARD)
    else:
        session.view.info(f"copied the last answer ({len(last.content):,} characters) with {tool}")
    return None


def _cost(session: ChatSession, arg: str) -> Result:
    label = f"conversation {session.conversation.id}" if session.conversation.id is not None else "this conversation"
    session.view.info(f"{label}: {session.conversation.totals().describe()}")
    return None


def _exit(session: ChatSession, arg: str) -> Result:
    return EXIT


COMMANDS: dict[str, Command] = {
    "help": Command(_help, "", "this list"),
    "model": Command(_model, "[NAME]", "show or change the model"),
    "profile": Command(_profile, "[NAME]", "show or change the profile (and its default model)"),
    "system": Command(_system, "[TEXT|-]", "show, set or remove the system prompt"),
    "retry": Command(_retry, "", "ask for the last answer again"),
    "clear": Command(_clear, "", "start a new conversation"),
    "history": Command(_history, "", "the conversation so far"),
    "save": Command(_save, "FILE", "write the conversation to FILE as markdown"),
    "copy": Command(_copy, "", "copy the last answer to the clipboard"),
    "cost": Command(_cost, "", "tokens and cost of this conversation so far"),
    "exit": Command(_exit, "", "leave (also /quit, Ctrl-D)"),
}
ALIASES = {"quit": "exit", "q": "exit", "?": "help", "new": "clear"}


def is_command(text: str) -> bool:
    return text.startswith("/") and not text.startswith("//")


def dispatch(session: ChatSession, text: str) -> Result:
    """Run a slash command. Errors (an unknown profile, a bad file) are shown; the chat goes on."""
    name, _, arg = text[1:].strip().partition(" ")
    name = ALIASES.get(name.lower(), name.lower())
    command = COMMANDS.get(name)
    if command is None:
        close = [] if "/" in name else difflib.get_close_matches(name, [*COMMANDS, *ALIASES], n=1, cutoff=0.7)
        guess = f"did you mean /{ALIASES.get(close[0], close[0])}? " if close else ""
        session.view.note(
            f"unknown command /{name}: {guess}/help lists the commands; "
            "start with // to send a message that begins with /"
        )
        return None
    try:
        return command.run(session, arg.strip())
    except RelayError as exc:
        session.view.error(exc)
        return None


def complete(session: ChatSession, line: str, word: str) -> list[str]:
    """Tab completion: command names, then model names after /model, profiles after /profile, files
    after /save."""
    if not line.startswith("/"):
        return []
    if " " not in line:
        names = [f"/{name}" for name in COMMANDS]
        return [name for name in names if name.startswith(word)]
    command = ALIASES.get(line[1:].split(" ", 1)[0], line[1:].split(" ", 1)[0])
    if command == "model":
        return [name for name in session.known_models() if name.startswith(word)]
    if command == "profile":
        return [name for name in session.services.profile_names() if name.startswith(word)]
    if command == "save":
        return sorted(p + ("/" if os.path.isdir(p) else "") for p in glob.glob(os.path.expanduser(word) + "*"))
    return []


def _short(text: str, limit: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
