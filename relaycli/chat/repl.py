"""The body of ``relay chat``: set the session up, then read, dispatch, answer, until the end of input.

On a terminal, Ctrl-C while an answer streams stops that answer and returns to the prompt; at an empty
prompt it asks for a second Ctrl-C (or Ctrl-D) before leaving. Errors are shown and the chat goes on.
With piped stdin every line is a message (or a slash command), output is plain, and an error or Ctrl-C
ends the run with its exit code, as with ``relay stream``.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING

from relaycli.chat import slash
from relaycli.chat.input import StreamInput, TerminalInput, no_echo, read_message
from relaycli.chat.render import View, make_view
from relaycli.chat.session import ChatServices, ChatSession
from relaycli.errors import ConfigError, OutputClosed, RelayError, Terminated, UsageError
from relaycli.output.streams import Streams

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.ledger.conversations import ConversationInfo, StoredMessage


@dataclass(frozen=True, slots=True)
class ChatOptions:
    profile: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    resume_last: bool = False
    conversation: int | None = None
    store: bool = True
    plain: bool = False
    cache: bool = False


def run_chat(services: ChatServices, streams: Streams, options: ChatOptions) -> int:
    interactive = streams.stdin_isatty
    view = make_view(streams.stdout, streams.stderr, terminal=streams.stdout_isatty, plain=options.plain)
    try:
        stored = _stored(services, options, view)
        profile = _profile(services, options.profile, stored.info.profile if stored else None, view)
        model = options.model or (stored.info.model if stored else None) or services.default_model(profile)
        system = options.system if options.system is not None or stored is None else stored.info.system
        session = ChatSession(
            services,
            view,
            profile=profile,
            model=model,
            system=system,
            temperature=options.temperature,
            max_tokens=options.max_tokens,
            store=options.store,
            cache=options.cache,
            shield=deferred_interrupt,
            quiet=(lambda: no_echo(streams.stdin)) if interactive else nullcontext,
        )
        if stored is not None:
            session.resume(stored.info, stored.messages)
            totals = session.conversation.totals()
            view.note(
                f"continuing conversation {stored.info.id}: {stored.info.title!r} "
                f"({totals.turns} turn{'s' if totals.turns != 1 else ''})"
            )
        if interactive:
            source: StreamInput | TerminalInput = TerminalInput(
                history=services.history,
                completer=lambda line, word: slash.complete(session, line, word),
                prompt_out=None if streams.stdout_isatty else streams.stderr,
                stdin=streams.stdin,
                save_history=options.store,
            )
            title = "relay chat" if view.rich else "chat"  # plain notes already start with "relay: "
            view.note(f'{title} · {session.label()} · /help for commands · """ for several lines · Ctrl-D to exit')
        else:
            source = StreamInput(streams.stdin)
        try:
            return loop(session, source, view)
        finally:
            source.close()
    except OutputClosed:
        return 0


@dataclass(frozen=True, slots=True)
class _Stored:
    info: ConversationInfo
    messages: list[StoredMessage]


def _stored(services: ChatServices, options: ChatOptions, view: View) -> _Stored | None:
    """The conversation to continue (``--conversation ID`` or ``-c``), if any."""
    if options.conversation is None and not options.resume_last:
        return None
    from relaycli.ledger.conversations import Conversations

    store = Conversations(services.ledger())
    if options.conversation is not None:
        info = store.get(options.conversation)
        if info is None:
            raise UsageError(f"no conversation {options.conversation}", hint="relay chat --list shows them")
    else:
        info = store.latest()
        if info is None:
            view.note("no earlier conversation to continue; starting a new one")
            return None
    return _Stored(info, store.messages(info.id))


def _profile(services: ChatServices, flag: str | None, stored: str | None, view: View) -> Profile:
    if flag is None and stored is not None:
        try:
            return services.profile(stored)
        except ConfigError as exc:
            fallback = services.profile(None)
            view.warn(f"{exc.message} (the conversation's profile); using {fallback.name!r}")
            return fallback
    return services.profile(flag)


def loop(session: ChatSession, source: StreamInput | TerminalInput, view: View) -> int:
    """Read messages until the end of input, ``/exit`` or a second Ctrl-C at an empty prompt."""
    interactive = source.interactive
    warned = False
    while True:
        try:
            text = read_message(source, view.prompt(session.label()), view.prompt("", continuation=True))
        except EOFError:
            if interactive:
                view.info("")
            return 0
        except KeyboardInterrupt as exc:
            if not interactive or isinstance(exc, Terminated):
                raise
            if source.interrupted_text.strip():
                warned = False
                view.info("")
                continue
            if warned:
                view.info("")
                return 0
            view.info("")
            view.note("press Ctrl-C again or Ctrl-D to exit")
            warned = True
            continue
        warned = False
        text = text.strip()
        if not text:
            continue
        if slash.is_command(text):
            if slash.dispatch(session, text) is slash.EXIT:
                return 0
            continue
        if text.startswith("//"):
            text = text[1:]
        try:
            session.ask(text)
        except KeyboardInterrupt as exc:
            if not interactive or isinstance(exc, Terminated):  # SIGTERM/SIGHUP end the chat, Ctrl-C the answer
                raise
        except OutputClosed:
            raise
        except RelayError as exc:
            if not interactive:
                raise
            view.error(exc)


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C back while the block runs (a half-drawn screen cannot be tidied up), then raise it."""
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except ValueError:  # not the main thread: nothing to defer
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt
