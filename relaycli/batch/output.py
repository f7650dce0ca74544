"""The output lines of a batch and where they go.

One JSON line per input line: ``{"id", "text", "finish_reason", "usage", "cost", "cached", "latency_ms",
"ttft_ms", "retries", "request_id", "profile", "model", "error"}``, shaped like ``relay stream --json``'s
document (``error`` is null on success, else ``{"class", "message", "exit_code"}``; money as exact decimal
strings). Each line is written and flushed as soon as it may be: in input order through a reorder buffer
(bounded by the runner's window), or in completion order with ``--unordered``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from relaycli.errors import OutputClosed, OutputFailed
from relaycli.paths import PRIVATE_FILE, tighten

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.pipeline import Answer

__all__ = ["FIELDS", "LineWriter", "encode", "failure_line", "open_output", "success_line"]

FIELDS = ("text", "finish_reason", "usage", "cost", "cached", "latency_ms", "ttft_ms", "retries", "request_id")


def success_line(item_id: str, answer: Answer) -> dict[str, object]:
    from relaycli.stream.run import to_json

    return _shape(item_id, to_json(answer), None)


def failure_line(item_id: str, exc: BaseException, profile: Profile, model: str) -> dict[str, object]:
    """A failed or interrupted request (what arrived before it, if anything), or a line never sent."""
    from relaycli.stream.run import failure_json

    doc = failure_json(exc, profile, model)
    return _shape(item_id, doc, doc["error"])


def _shape(item_id: str, doc: dict[str, object], error: object) -> dict[str, object]:
    line: dict[str, object] = {"id": item_id}
    for key in FIELDS:
        line[key] = doc[key]
    line["profile"] = doc["profile"]
    line["model"] = doc["model"]
    line["error"] = error
    return line


def encode(line: dict[str, object]) -> str:
    return json.dumps(line, ensure_ascii=False) + "\n"


class LineWriter:
    """Writes finished lines to ``out``, each flushed. Ordered: line ``seq`` waits in a buffer until every
    line before it is written (the runner keeps at most a window of lines unwritten, so the buffer is
    bounded). ``written`` is told how many lines went out."""

    def __init__(
        self, out: TextIO, *, ordered: bool, name: str = "stdout", written: Callable[[int], None] | None = None
    ) -> None:
        self.out = out
        self.name = name
        self.ordered = ordered
        self.next = 0  # the first seq not yet written (ordered)
        self.pending: dict[int, str] = {}
        self.count = 0
        self._written = written or (lambda n: None)

    def put(self, seq: int, line: str) -> None:
        if not self.ordered:
            self._write(line)
            self._written(1)
            return
        if seq < self.next or seq in self.pending:
            return  # already written (a line recorded as interrupted whose request then ended)
        self.pending[seq] = line
        n = 0
        while self.next in self.pending:
            self._write(self.pending.pop(self.next))
            self.next += 1
            n += 1
        if n:
            self._written(n)

    def _write(self, line: str) -> None:
        try:
            self.out.write(line)
            self.out.flush()
        except BrokenPipeError:
            from relaycli.output.sinks import silence

            silence(self.out)
            raise OutputClosed() from None
        except OSError as exc:
            raise OutputFailed(f"cannot write to {self.name}: {exc.strerror or exc}") from exc
        self.count += 1


def open_output(path: Path, *, append: bool) -> TextIO:
    """``-O FILE`` (truncated) or ``--resume FILE`` (appended to; created when missing), readable by its
    owner only. A file whose last line was cut short (a crash mid-write) gets a line break first, so the
    new lines start on lines of their own."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    tighten(path)
    out = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    if append and _ends_mid_line(path):
        out.write("\n")
        out.flush()
    return out


def _ends_mid_line(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"
