"""The terminal a command talks to: stdin, stdout, stderr and whether each is a terminal.

Feature code receives a ``Streams`` (and ``Notes`` built from it) instead of reaching for ``sys``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from relaycli.datatypes import Notes

__all__ = ["Streams", "isatty"]


@dataclass(frozen=True, slots=True)
class Streams:
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
        self.stderr.write(f"relay: {message}\n")
        self.stderr.flush()

    def warn(self, message: str) -> None:
        self.stderr.write(f"relay: warning: {message}\n")
        self.stderr.flush()

    def notes(self) -> Notes:
        return Notes(note=self.note, warn=self.warn)


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
