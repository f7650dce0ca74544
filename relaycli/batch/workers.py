"""The threads that send a batch's requests.

Each of N workers takes a free slot of the window (a slot is held from the moment a line is read until its
output line is written, so at most ``window`` lines are ever in memory), reads the next line under a lock
and sends it through the pipeline with a sink that shows nothing, so the core retries a broken stream and
the fallback profiles are tried as if nothing had arrived. Every event (a line taken, a line done, the end
of the input) goes to one queue the main thread waits on; the main thread alone writes, counts and handles
signals.

``stop`` makes the workers take no more lines; ``abort`` interrupts the requests in flight at their next
delta (recorded in the ledger as interrupted).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from queue import SimpleQueue
from typing import TYPE_CHECKING

from relaycli.batch.input import BadLine, Item
from relaycli.batch.output import encode, failure_line, success_line
from relaycli.batch.tally import Done
from relaycli.datatypes import Delta, Notes
from relaycli.errors import RelayError, UsageError

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.pipeline import Pipeline
    from relaycli.pipeline.request import CacheUse
    from relaycli.pipeline.seams import Priority

__all__ = ["End", "Event", "Pool", "Started"]


@dataclass(frozen=True, slots=True)
class Started:
    seq: int
    entry: Item | BadLine


@dataclass(frozen=True, slots=True)
class End:
    """The input ended (``error`` None) or cannot go on (a repeated id, a read error)."""

    error: UsageError | None = None


Event = Started | Done | End | None  # None: only a wake-up (a signal arrived)


@dataclass(frozen=True, slots=True)
class Sending:
    """How every request of the batch is sent."""

    pipeline: Pipeline
    profile: Profile
    cache: CacheUse
    priority: Priority
    notes: Notes
    model: str  # the default model, for lines that never reached a request


class Pool:
    def __init__(
        self, sending: Sending, source: Iterator[Item | BadLine], events: SimpleQueue[Event], *, size: int, window: int
    ) -> None:
        self.sending = sending
        self.source = source
        self.events = events
        self.size = size
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.interruption: KeyboardInterrupt = KeyboardInterrupt()  # what an aborted request is recorded as
        self._slots = threading.Semaphore(window)
        self._lock = threading.Lock()
        self._seq = 0
        self._ended = False

    def start(self) -> None:
        for n in range(self.size):
            threading.Thread(target=self._loop, name=f"relay-batch-{n}", daemon=True).start()

    def halt(self) -> None:
        """Take no more lines. Once this returns, every line taken has its ``Started`` in the queue (a worker
        that holds the lock for longer is waiting for a line of a pipe: it will find ``stop`` set)."""
        locked = self._lock.acquire(timeout=0.5)
        self.stop.set()
        if locked:
            self._lock.release()

    def free(self, n: int) -> None:
        """``n`` output lines were written: their slots take new lines."""
        self._slots.release(n)

    def interrupted(self, seq: int, entry: Item | BadLine) -> Done:
        """The line of a request still in flight when the batch had to end."""
        return self._failed(seq, entry, self.interruption)

    # -- the workers --------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.stop.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            taken = self._take()
            if taken is None:
                return
            self.events.put(self._answer(*taken))

    def _take(self) -> tuple[int, Item | BadLine] | None:
        with self._lock:
            if self._ended or self.stop.is_set():
                return None
            try:
                entry = next(self.source)
            except StopIteration:
                self._end(None)
                return None
            except UsageError as exc:  # a repeated id: nothing after it is read
                self._end(exc)
                return None
            except OSError as exc:
                name = getattr(self.source, "name", "the input")
                self._end(UsageError(f"cannot read {name}: {exc.strerror or exc}"))
                return None
            if self.stop.is_set():  # stopped while this worker waited for the line
                return None
            seq, self._seq = self._seq, self._seq + 1
            self.events.put(Started(seq, entry))  # under the lock: before any End that follows it
            return seq, entry

    def _end(self, error: UsageError | None) -> None:
        self._ended = True
        self.events.put(End(error))

    def _answer(self, seq: int, entry: Item | BadLine) -> Done:
        if isinstance(entry, BadLine):
            return self._failed(seq, entry, entry.error)
        s = self.sending
        try:
            answer = s.pipeline.run(
                entry.ask,
                self._sink,
                profile=s.profile,
                command="batch",
                notes=s.notes,
                shown=_never,
                cache=s.cache,
                priority=s.priority,
            )
        except (RelayError, KeyboardInterrupt) as exc:
            return self._failed(seq, entry, exc)
        except Exception as exc:  # a bug: this line says so, the batch goes on
            return self._failed(seq, entry, exc)
        u = answer.result.usage
        return Done(
            seq,
            encode(success_line(entry.id, answer)),
            cached=answer.cached,
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            cost_usd=answer.cost_usd,
            billed=answer.billed,
            currency=answer.profile.billing.currency,
            priced=answer.cost_usd is not None,
        )

    def _failed(self, seq: int, entry: Item | BadLine, exc: BaseException) -> Done:
        from relaycli.pipeline import partial_answer

        model = entry.ask.model if isinstance(entry, Item) else self.sending.model
        line = failure_line(entry.id, exc, self.sending.profile, model)
        error = line["error"]
        assert isinstance(error, dict)
        partial = partial_answer(exc)
        usage = partial.result.usage if partial is not None else None
        return Done(
            seq,
            encode(line),
            error_class=str(error["class"]),
            exit_code=int(error["exit_code"]),
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=usage.completion_tokens if usage is not None else None,
            cost_usd=partial.cost_usd if partial is not None else None,
            billed=partial.billed if partial is not None else None,
            currency=(partial.profile if partial is not None else self.sending.profile).billing.currency,
        )

    def _sink(self, delta: Delta) -> None:
        """Nothing is shown while a request runs; once the batch is aborted, the request ends here."""
        if self.abort.is_set():
            raise _copy(self.interruption)


def _copy(exc: KeyboardInterrupt) -> KeyboardInterrupt:
    from relaycli.errors import Terminated

    return Terminated(exc.signum) if isinstance(exc, Terminated) else KeyboardInterrupt()


def _never() -> bool:
    return False
