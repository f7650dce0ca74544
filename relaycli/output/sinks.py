"""Text sinks: where the deltas of an answer are written as they arrive (stdout, flushed per chunk)."""

from __future__ import annotations

import os
from typing import TextIO

from relaycli.datatypes import Delta
from relaycli.errors import OutputClosed, OutputFailed

__all__ = ["Diagnostics", "TextSink", "output_failed", "silence"]


class TextSink:
    """Writes deltas to ``out`` as they come, flushing each; a closed pipe becomes ``OutputClosed``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.wrote = False
        self.last = ""

    def __call__(self, delta: Delta) -> None:
        if delta.kind != "text" or not delta.text:
            return
        try:
            self.out.write(delta.text)
            self.out.flush()
        except BrokenPipeError:
            silence(self.out)
            raise OutputClosed() from None
        except OSError as exc:
            raise output_failed(self.out, exc) from exc
        self.wrote, self.last = True, delta.text

    def finish(self) -> None:
        """End the text with a newline, like every line-oriented tool."""
        if self.wrote and not self.last.endswith("\n"):
            try:
                self.out.write("\n")
                self.out.flush()
            except BrokenPipeError:
                silence(self.out)
            except OSError as exc:
                raise output_failed(self.out, exc) from exc


def output_failed(out: TextIO, exc: OSError) -> OutputFailed:
    """The error for stdout that cannot be written (a full disk); ``out`` is silenced so that the
    interpreter's last flush does not fail again."""
    silence(out)
    return OutputFailed(f"cannot write to stdout: {exc.strerror or exc}")


def silence(out: TextIO) -> None:
    """After EPIPE, point ``out`` at /dev/null so the interpreter's final flush stays quiet."""
    try:
        fd = out.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


class Diagnostics:
    """Wraps stderr so that a reader who went away (``relay ... 2>&1 | head -1``) costs relay its messages,
    never its exit code: a write or flush to a closed pipe is dropped instead of raising."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                self._stream.write(text)
            except OSError:  # a closed pipe, a full disk: messages lost, never the exit code
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except OSError:
                self._gone()

    def _gone(self) -> None:
        self._closed = True
        silence(self._stream)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)
