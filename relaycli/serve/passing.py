"""What one streamed answer writes to its client, decided in the pipeline as deltas arrive.

An upstream of the client's own protocol is passed through event by event (``raw``: ids, tool calls and
every field as the upstream sent them, the key removed); a cache hit or an upstream of the other protocol is
written from relay's deltas (``synthesized``). The first few events (the preamble: a role chunk,
``message_start``) are held until content arrives, so an upstream that fails before saying anything can
still be retried or fall back without the client seeing a thing; once something was written, the answer
can only end, cleanly or with the protocol's broken-stream signal.
"""

from __future__ import annotations

from relaycli.datatypes import Delta, Usage
from relaycli.serve.channel import Channel
from relaycli.serve.wire import Protocol, StreamWriter

__all__ = ["Passing"]

_HELD_EVENTS = 4  # a preamble is one to three events; more without content (a tool call) is passed on


class Passing:
    def __init__(self, channel: Channel, writer: StreamWriter, protocol: str) -> None:
        self.channel = channel
        self.writer = writer
        self.protocol = protocol  # the client's
        self.mode: str | None = None  # "raw", "synthesized" or "rewritten" (raw, then from deltas), once known
        self._held: list[bytes] = []
        self.written = False
        self.finished = False  # the clean end was written: nothing follows it

    # -- the pipeline's callbacks ----------------------------------------------------------------
    def events(self, protocol: str, data: str) -> None:
        if protocol != self.protocol or self.mode in ("synthesized", "rewritten"):
            self.channel.check()
            return
        if not data:  # events withheld: their text held the upstream's key; the rest is written from deltas
            self._flush()
            self.mode = "rewritten" if self.mode == "raw" else "synthesized"
            if self.mode == "synthesized":
                self._write(self.writer.start())
            return
        self.mode = "raw"
        self._held.append(self.writer.raw(data))
        if self.written or len(self._held) >= _HELD_EVENTS:
            self._flush()
        else:
            self.channel.check()

    def sink(self, delta: Delta) -> None:
        if delta.kind == "restart":  # nothing was written (else there is no retry): start over
            self._held.clear()
            self.mode = None
            return
        if self.mode == "raw":
            self._flush()  # the event that carried this delta is held: it goes now
            return
        if delta.kind != "text":
            self.channel.check()
            return
        if self.mode is None:
            self.mode = "synthesized"
            self._write(self.writer.start())
        self._write(self.writer.text(delta.text))

    def shown(self) -> bool:
        return self.written

    def cancelled(self) -> bool:
        return self.channel.cancelled

    # -- the end ----------------------------------------------------------------------------------
    def finish(self, finish_reason: str | None, source: Protocol, usage: Usage) -> None:
        """The answer is complete: the clean end in the client's protocol (``rewritten``: a pass-through
        that went on from deltas ends as a synthesized answer does). Once only."""
        if self.finished:
            return
        if self.mode == "raw":
            self._flush()
            self._write(self.writer.done())
        else:
            if self.mode is None:
                self._write(self.writer.start())
            self.writer.source = source  # a fallback may speak the other protocol than the route's profile
            self._write(self.writer.finish(finish_reason, usage))
        self.finished = True

    def broken(self, message: str, status: int) -> None:
        """The answer broke off after something was written: the protocol's error event, no clean end (and
        nothing after a clean end: a failure in the bookkeeping that follows it changes nothing sent)."""
        if self.finished:
            return
        self._flush()
        self.channel.put(self.writer.broken(message, status))

    # -- helpers -------------------------------------------------------------------------------------
    def _flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            self._write(data)

    def _write(self, data: bytes) -> None:
        self.written = True
        self.channel.put(data)
