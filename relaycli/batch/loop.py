"""The main thread of a batch: it waits on the workers' events, writes each finished line, counts it, redraws
the progress bar, and handles Ctrl-C, SIGTERM and SIGHUP.

Signals are noted, not raised (``measure.interrupts.Deferred``), so that no line is ever half written; the
first one stops the reading of new lines, lets the requests in flight finish for ``grace_s`` seconds, then
aborts them at their next delta (the ledger records them as interrupted); after ``abort_s`` more, a
request that still has not ended (waiting for its first byte) gets an interrupted line without waiting
any longer (it is interrupted where it waits, so that its ledger row is written too). A second signal
skips the grace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from types import FrameType

from relaycli.batch.input import BadLine, Item
from relaycli.batch.output import LineWriter
from relaycli.batch.tally import Done, Tally
from relaycli.batch.workers import End, Event, Pool, Started
from relaycli.errors import OutputClosed, OutputFailed, UsageError
from relaycli.measure.interrupts import Deferred

__all__ = ["Loop", "Ending"]


@dataclass(slots=True)
class Ending:
    """How the loop ended."""

    signal_code: int | None = None  # 130, 143 or 129 when a signal stopped it
    signal_name: str | None = None
    error: UsageError | None = None  # the input could not go on (a repeated id)
    output: OutputClosed | OutputFailed | None = None  # the output could not be written

    @property
    def clean(self) -> bool:
        """The whole input was read and every line written."""
        return self.signal_code is None and self.error is None and self.output is None


@dataclass(slots=True)
class Loop:
    pool: Pool
    events: SimpleQueue[Event]
    writer: LineWriter
    tally: Tally = field(default_factory=Tally)
    tick: Callable[[], None] = lambda: None  # called at most every ``interval`` (the progress bar)
    interval: float = 0.1
    grace_s: float = 5.0
    abort_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    outstanding: dict[int, Item | BadLine] = field(default_factory=dict)

    def run(self) -> Ending:
        ending = Ending()
        with _Noted(lambda: self.events.put(None)) as held:
            self.pool.start()
            ended = False
            stop_at: float | None = None  # when the grace ends
            give_up_at: float | None = None  # when the requests still in flight are written off
            seen = 0
            while not (ended and not self.outstanding and self.events.empty()):
                try:
                    event = self.events.get(timeout=self.interval)
                except Empty:
                    event = None
                if isinstance(event, Done):
                    self.outstanding.pop(event.seq, None)
                    if not self._write(event, ending):
                        ended, give_up_at = True, self.clock() + self.abort_s
                elif isinstance(event, Started):
                    self.outstanding[event.seq] = event.entry
                elif isinstance(event, End):
                    ended, ending.error = True, event.error
                if len(held.received) > seen:  # a signal: stop reading; a second one: abort now
                    seen = len(held.received)
                    if stop_at is None:
                        ending.signal_code, ending.signal_name = held.code, held.name
                        self.pool.interruption = _interruption(held.received[0])
                        self.pool.halt()
                        ended, stop_at = True, self.clock() + self.grace_s
                    else:
                        stop_at = self.clock()
                now = self.clock()
                if stop_at is not None and now >= stop_at and give_up_at is None:
                    self.pool.abort.set()
                    give_up_at = now + self.abort_s
                if give_up_at is not None and now >= give_up_at:
                    self.pool.cut_short(self.abort_s)  # interrupted where they wait: their rows are written
                    self._write_off(ending)
                    break
                self.tick()
        return ending

    def _write(self, done: Done, ending: Ending) -> bool:
        """Write and count one line; False when the output cannot take it (the batch then stops at once)."""
        self.tally.add(done)
        if ending.output is not None:
            return False
        try:
            self.writer.put(done.seq, done.line)
        except (OutputClosed, OutputFailed) as exc:
            ending.output = exc
            self.pool.halt()
            self.pool.abort.set()
            return False
        return True

    def _write_off(self, ending: Ending) -> None:
        """The requests still in flight get an interrupted line each (their request may never end)."""
        while True:  # what finished meanwhile first
            try:
                event = self.events.get_nowait()
            except Empty:
                break
            if isinstance(event, Started):
                self.outstanding[event.seq] = event.entry
            elif isinstance(event, Done) and self.outstanding.pop(event.seq, None) is not None:
                self._write(event, ending)
        for seq, entry in sorted(self.outstanding.items()):
            self._write(self.pool.interrupted(seq, entry), ending)
        self.outstanding.clear()


class _Noted(Deferred):
    """Signals noted, with a wake-up for the waiting main thread (``SimpleQueue.put`` is reentrant)."""

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__()
        self._wake = wake

    def _note(self, signum: int, frame: FrameType | None) -> None:
        super()._note(signum, frame)
        self._wake()


def _interruption(signum: int) -> KeyboardInterrupt:
    import signal

    from relaycli.errors import Terminated

    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)
