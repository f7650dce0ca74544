"""The terminal a command talks to: stdin, stdout, stderr and whether each is a terminal.

Feature code receives a ``Streams`` (and ``Notes`` built from it) instead of reaching for ``sys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from relaycli.datatypes import Notes

__all__ = ["Streams", "isatty", "notes_to"]


@dataclass(frozen=True, slots=True)
class Streams:
    """A command's standard streams."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO

    @property
    def stdin_isatty(self) -> bool:
        return isatty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return isatty(self.stderr)

    def note(self, message: str) -> None:
        _line(self.stderr, f"relay: {message}")

    def warn(self, message: str) -> None:
        _line(self.stderr, f"relay: warning: {message}")

    def notes(self) -> Notes:
        return Notes(note=self.note, warn=self.warn)


def notes_to(stderr: TextIO) -> Notes:
    """Notes and warnings as ``relay: ...`` lines on ``stderr``."""
    return Notes(
        note=lambda text: _line(stderr, f"relay: {text}"), warn=lambda text: _line(stderr, f"relay: warning: {text}")
    )


def _line(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
