"""A one-line progress bar on a terminal's stderr, redrawn in place at most ``interval`` apart:

    [##########----------] 512/1,000  3 errors  40,960 tokens  ¥0.0412  81.2/s  ETA 6 s

Notes written while it shows (retry notices, warnings) clear the bar, print their line and redraw it.
Safe to use from several threads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Progress", "ProgressBar", "render"]


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int | None  # None: unknown (the input is a pipe)
    errors: int
    tokens: int
    cost: str  # already formatted, in the billing currency
    elapsed_s: float


def render(p: Progress, width: int) -> str:
    """The bar's text, at most ``width - 1`` characters (the last column is left free)."""
    rate = p.done / p.elapsed_s if p.elapsed_s > 0 else 0.0
    count = f"{p.done:,}/{p.total:,}" if p.total is not None else f"{p.done:,} done"
    fields = [count, f"{p.errors:,} error{'s' if p.errors != 1 else ''}", f"{p.tokens:,} tokens", p.cost]
    fields.append(f"{rate:,.1f}/s")
    if p.total is not None and rate > 0 and p.done < p.total:
        fields.append(f"ETA {_duration((p.total - p.done) / rate)}")
    text = "  ".join(fields)
    room = width - 1 - len(text) - 3
    if p.total and room >= 10:
        cells = 20 if room >= 20 else 10
        filled = min(cells, cells * p.done // p.total)
        text = f"[{'#' * filled}{'-' * (cells - filled)}] {text}"
    return text[: max(width - 1, 0)]


def _duration(seconds: float) -> str:
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class ProgressBar:
    def __init__(
        self,
        stream: TextIO,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.width = width or (lambda: _columns(stream))
        self._lock = threading.Lock()
        self._last_draw: float | None = None
        self._text = ""

    def update(self, progress: Progress, *, force: bool = False) -> None:
        """Redraw with ``progress`` unless the last redraw was less than ``interval`` ago."""
        now = self.clock()
        with self._lock:
            if not force and self._last_draw is not None and now - self._last_draw < self.interval:
                return
            self._last_draw = now
            self._text = render(progress, self.width())
            self._draw(self._text)

    def due(self) -> bool:
        """Whether a redraw now would happen."""
        return self._last_draw is None or self.clock() - self._last_draw >= self.interval

    def note(self, line: str) -> None:
        """Print ``line`` above the bar."""
        with self._lock:
            self.stream.write("\r\x1b[K" + line + "\n")
            self._draw(self._text)

    def write_through(self, out: TextIO, text: str) -> None:
        """Write ``text`` to ``out`` (stdout on the same terminal), the bar cleared before and drawn after."""
        with self._lock:
            if self._text:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            out.write(text)
            out.flush()
            self._draw(self._text)

    def clear(self) -> None:
        with self._lock:
            if self._text:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self._text = ""

    def _draw(self, text: str) -> None:
        if text:
            self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80
    return columns if columns > 0 else 80  # a terminal that does not say its size
