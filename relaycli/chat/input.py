"""Reading what the user types: line editing, history and completion on a terminal (GNU readline or
libedit, from the standard library), plain lines from a pipe, and multi-line messages in ``\"\"\"`` blocks.

A message that starts with ``\"\"\"`` goes on until a line that ends with ``\"\"\"``; the quotes are not
part of it. ``\"\"\"one line\"\"\"`` is a message too.

The lines typed are kept in ``chat_history`` next to the ledger (mode 600), shared by every session;
``relay chat --no-store`` reads it but adds nothing to it.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, ModuleType
from typing import TextIO

from relaycli.paths import private_dir, tighten

QUOTES = '"""'
HISTORY_LINES = 2000

Completer = Callable[[str, str], list[str]]  # (whole line, word being completed) -> candidates


class StreamInput:
    """Lines from a pipe or file, one message per line; no prompt, no editing."""

    interactive = False
    interrupted_text = ""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def read(self, prompt: str) -> str:
        line = self.stream.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def close(self) -> None:
        pass


class TerminalInput:
    """``input()`` with readline: editing, a history file shared by every session, Tab completion.

    On Ctrl-C, ``interrupted_text`` holds what was on the line, so the caller can tell a Ctrl-C that
    discards a line from one at an empty prompt.
    """

    interactive = True

    def __init__(
        self,
        *,
        history: Path | None,
        completer: Completer | None = None,
        prompt_out: TextIO | None = None,
        stdin: TextIO | None = None,
        save_history: bool = True,
    ) -> None:
        self.history = history
        self.completer = completer
        self.prompt_out = prompt_out  # where to write the prompt when stdout is not the terminal
        self.stdin = stdin or sys.stdin
        self.save_history = save_history
        self.interrupted_text = ""
        self._readline = _load_readline() if prompt_out is None else None
        self._loaded = 0
        if self._readline is not None:
            self._setup(self._readline)

    def _setup(self, readline: ModuleType) -> None:
        readline.set_history_length(HISTORY_LINES)
        if self.history is not None and self.history.exists():
            with contextlib.suppress(OSError):
                readline.read_history_file(str(self.history))
        self._loaded = readline.get_current_history_length()
        if self.completer is not None:
            readline.set_completer(self._complete)
            readline.set_completer_delims(" \t\n")
            if "libedit" in (readline.__doc__ or ""):
                readline.parse_and_bind("bind ^I rl_complete")
            else:
                readline.parse_and_bind("tab: complete")

    def read(self, prompt: str) -> str:
        self.interrupted_text = ""
        previous = signal.getsignal(signal.SIGINT)

        def on_interrupt(signum: int, frame: FrameType | None) -> None:
            # runs before readline throws the line away: remember whether there was anything on it
            self.interrupted_text = self._readline.get_line_buffer() if self._readline is not None else ""
            raise KeyboardInterrupt

        try:
            signal.signal(signal.SIGINT, on_interrupt)
        except ValueError:  # not the main thread
            previous = None
        try:
            if self.prompt_out is not None:
                self.prompt_out.write(_visible(prompt))
                self.prompt_out.flush()
                line = self.stdin.readline()
                if not line:
                    raise EOFError
                return line.rstrip("\r\n")
            return input(prompt)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _complete(self, text: str, state: int) -> str | None:
        import readline

        if state == 0:
            try:
                self._matches = (
                    self.completer(readline.get_line_buffer()[: readline.get_endidx()], text) if self.completer else []
                )
            except Exception:  # a completer must never break the prompt
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None

    def close(self) -> None:
        """Append this session's lines to the history file (other sessions' lines are kept)."""
        if self._readline is None or self.history is None or not self.save_history:
            return
        import readline

        new = readline.get_current_history_length() - self._loaded
        if new <= 0:
            return
        try:
            private_dir(self.history.parent)
            if not self.history.exists():
                self.history.touch(mode=0o600)
            tighten(self.history)
            readline.append_history_file(new, str(self.history))
            readline.set_history_length(HISTORY_LINES)
        except OSError:
            pass


def read_message(source: StreamInput | TerminalInput, prompt: str, continuation: str) -> str:
    """One message: a line, or a ``\"\"\"`` block. Raises EOFError at the end of input (an unfinished
    block is given back as it is) and KeyboardInterrupt on Ctrl-C."""
    first = source.read(prompt)
    stripped = first.strip()
    if not stripped.startswith(QUOTES):
        return first
    body = stripped[len(QUOTES) :]
    if len(body) >= len(QUOTES) and body.endswith(QUOTES):
        return body[: -len(QUOTES)]
    lines = [body] if body else []
    while True:
        try:
            line = source.read(continuation)
        except EOFError:
            if lines:
                return "\n".join(lines)
            raise
        if line.rstrip().endswith(QUOTES):
            last = line.rstrip()[: -len(QUOTES)]
            if last:
                lines.append(last)
            return "\n".join(lines)
        lines.append(line)


@contextlib.contextmanager
def no_echo(stream: TextIO) -> Iterator[None]:
    """While an answer streams, keys typed are not echoed (an echo, ^C included, would land in the
    middle of the drawing); they wait for the next prompt instead."""
    try:
        import termios

        fd = stream.fileno()
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    except Exception:  # no termios (Windows), not a terminal, closed: nothing to do
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def _load_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        return None
    return readline


def _visible(prompt: str) -> str:
    """A readline prompt without its invisible-text markers (\\001 and \\002)."""
    return prompt.replace("\001", "").replace("\002", "")
