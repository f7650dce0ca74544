"""Ctrl-C, SIGTERM and SIGHUP while a measurement is being wrapped up: noted, not raised, so the requests
already done are parsed and recorded in full; the caller then ends with the signal's exit code.

Only handlers set from Python are swapped (Python's Ctrl-C handler, the CLI's SIGTERM/SIGHUP ones); a
signal that is ignored or left at the system default stays so, and off the main thread nothing changes.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

from relaycli.errors import ExitCode, Terminated

_NAMES = ("SIGINT", "SIGTERM", "SIGHUP")


def describe(exc: KeyboardInterrupt) -> str:
    """``Ctrl-C``, ``SIGTERM``, ``SIGHUP``: what stopped the run, for messages."""
    return signal.Signals(exc.signum).name if isinstance(exc, Terminated) else "Ctrl-C"


class Deferred:
    """``with Deferred() as held: ...``; afterwards ``held.code`` is 130, 143 or 129 if a signal came."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._saved: dict[int, Any] = {}

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)

    def __enter__(self) -> Deferred:
        """Entering again while in is a no-op."""
        if self._saved or threading.current_thread() is not threading.main_thread():
            return self
        for name in _NAMES:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            current = signal.getsignal(signum)
            if callable(current):
                self._saved[signum] = current
                signal.signal(signum, self._note)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for signum, handler in self._saved.items():
            signal.signal(signum, handler)
        self._saved.clear()

    @property
    def code(self) -> int | None:
        if not self.received:
            return None
        signum = self.received[0]
        return int(ExitCode.INTERRUPTED) if signum == signal.SIGINT else 128 + signum

    @property
    def name(self) -> str | None:
        if not self.received:
            return None
        return "Ctrl-C" if self.received[0] == signal.SIGINT else signal.Signals(self.received[0]).name
