"""The workers that send a batch's requests.

N workers run as greenlets on one event loop, in a thread of its own (``core/bridge.py``: the pipeline
stays synchronous, and the requests wait for the network on the loop instead of in N threads taking turns
with the interpreter lock). Each takes a free slot of the window (a slot is held from the moment a line is
read until its output line is written, so at most ``window`` lines are ever in memory), reads the next
line (from a pipe, in a thread, so that waiting for a line holds up no request) and sends it through the
pipeline with a sink that shows nothing, so the core retries a broken stream and the fallback profiles are
tried as if nothing had arrived. Every event (a line taken, a line done, the end of the input) goes to one
queue the main thread waits on; the main thread alone writes, counts and handles signals.

``stop`` makes the workers take no more lines; ``abort`` interrupts the requests in flight at their next
delta (recorded in the ledger as interrupted).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from queue import SimpleQueue
from typing import TYPE_CHECKING

from relaycli.batch.input import BadLine, Item
from relaycli.batch.output import encode, failure_line, success_line
from relaycli.batch.tally import Done
from relaycli.core import bridge
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
        self,
        sending: Sending,
        source: Iterator[Item | BadLine],
        events: SimpleQueue[Event],
        *,
        size: int,
        window: int,
        slow_input: bool = False,
    ) -> None:
        self.sending = sending
        self.source = source
        self.events = events
        self.size = size
        self.slow_input = slow_input  # a pipe: lines are read in a thread, so a wait for one stops no request
        self.stop = threading.Event()
        self.abort = threading.Event()
        self.interruption: KeyboardInterrupt = KeyboardInterrupt()  # what an aborted request is recorded as
        self._slots = _Slots(window)
        self._lock = threading.Lock()  # between taking a line and its Started in the queue (never while waiting)
        self._seq = 0
        self._ended = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading: asyncio.Lock | None = None
        self._tasks: list[asyncio.Future[None]] = []
        self._finished = threading.Event()  # every worker has ended

    def start(self) -> None:
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), name="relay-batch", daemon=True).start()
        ready.wait()

    def halt(self) -> None:
        """Take no more lines. Once this returns, every line taken has its ``Started`` in the queue (a worker
        waiting for a line of a pipe will find ``stop`` set when it gets one)."""
        with self._lock:
            self.stop.set()
        self._call(self._slots.wake_all)

    def free(self, n: int) -> None:
        """``n`` output lines were written: their slots take new lines (the workers' loop is woken only when
        a worker waits for one)."""
        if self._slots.release_later(n):
            self._call(self._slots.release, 0)

    def interrupted(self, seq: int, entry: Item | BadLine) -> Done:
        """The line of a request still in flight when the batch had to end."""
        return self._failed(seq, entry, self.interruption)

    # -- the workers: greenlets on one event loop in a thread of their own (core/bridge.py) -------------
    def _run(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._reading = asyncio.Lock()
            self._tasks = [
                asyncio.ensure_future(bridge.run(self._work, interrupt=self._interrupt)) for _ in range(self.size)
            ]
            ready.set()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        try:
            asyncio.run(main())
        finally:
            self._finished.set()

    def cut_short(self, wait_s: float) -> None:
        """Interrupt the requests still in flight where they wait (for a first byte, say), so each ends as
        an interrupted request with its ledger row; wait up to ``wait_s`` for them."""
        self._call(self._cancel)
        self._finished.wait(wait_s)

    def _cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    def _interrupt(self) -> BaseException:
        return _copy(self.interruption)

    def _call(self, fn: Callable[..., None], *args: int) -> None:
        """Run ``fn`` on the workers' loop, from the main thread."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nobody is left to tell
                self._loop.call_soon_threadsafe(fn, *args)

    def _work(self) -> None:
        while not (self.stop.is_set() or self._ended):
            if not bridge.wait(self._slots.acquire()):
                continue  # woken to look at ``stop``
            taken = self._take()
            if taken is None:
                self._slots.wake_all()  # the others see the end too
                return
            self.events.put(self._answer(*taken))

    def _take(self) -> tuple[int, Item | BadLine] | None:
        if not self.slow_input:
            return self._next()
        loop, reading = self._loop, self._reading
        assert loop is not None and reading is not None

        def read() -> Item | BadLine | None:
            return bridge.wait(_in_thread(loop, self.source))

        bridge.wait(reading.acquire())  # one read at a time
        try:
            return self._next(read)
        finally:
            reading.release()

    def _next(self, read: Callable[[], Item | BadLine | None] | None = None) -> tuple[int, Item | BadLine] | None:
        if self._ended or self.stop.is_set():
            return None
        try:
            entry = read() if read is not None else _line(self.source)
        except UsageError as exc:  # a repeated id: nothing after it is read
            self._end(exc)
            return None
        except OSError as exc:
            name = getattr(self.source, "name", "the input")
            self._end(UsageError(f"cannot read {name}: {exc.strerror or exc}"))
            return None
        if entry is None:
            self._end(None)
            return None
        with self._lock:
            if self.stop.is_set():  # stopped while this worker waited for the line
                return None
            seq, self._seq = self._seq, self._seq + 1
            self.events.put(Started(seq, entry))  # before any End that follows it
            return seq, entry

    def _end(self, error: UsageError | None) -> None:
        if not self._ended:
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


def _line(source: Iterator[Item | BadLine]) -> Item | BadLine | None:
    """The next line, or None at the end of the input."""
    return next(source, None)


def _in_thread(
    loop: asyncio.AbstractEventLoop, source: Iterator[Item | BadLine]
) -> asyncio.Future[Item | BadLine | None]:
    """The next line, read in a daemon thread of its own: a pipe that never sends another line holds up
    neither the loop nor the process's exit (an executor's thread would be waited for at exit)."""
    future: asyncio.Future[Item | BadLine | None] = loop.create_future()

    def settle(value: Item | BadLine | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def read() -> None:
        try:
            value, error = _line(source), None
        except BaseException as exc:  # noqa: BLE001 - handed to the worker waiting for the line
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has ended: nobody waits for the line any more
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=read, name="relay-batch-input", daemon=True).start()
    return future


class _Slots:
    """The window's free slots. ``acquire`` (on the workers' loop) takes one, at once while there is one,
    or waits for ``release``; slots freed from the main thread (``release_later``) are counted under a lock
    and handed out by the next ``acquire`` or ``release``; ``wake_all`` ends every wait with False."""

    def __init__(self, free: int) -> None:
        self._free = free
        self._freed = 0  # released by the main thread, not yet counted in ``_free``
        self._lock = threading.Lock()
        self._waiting: collections.deque[asyncio.Future[bool]] = collections.deque()

    async def acquire(self) -> bool:
        with self._lock:  # a slot freed meanwhile is either counted here or sees this wait
            self._free += self._freed
            self._freed = 0
            if self._free > 0:
                self._free -= 1
                return True
            waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
        return await waiter

    def release_later(self, n: int) -> bool:
        """Free ``n`` slots from another thread; True when a worker waits (then call ``release``)."""
        with self._lock:
            self._freed += n
            return bool(self._waiting)

    def release(self, n: int) -> None:
        with self._lock:
            self._free += n + self._freed
            self._freed = 0
            while self._free > 0 and self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    self._free -= 1
                    waiter.set_result(True)

    def wake_all(self) -> None:
        with self._lock:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_result(False)
