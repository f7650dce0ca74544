"""``Engine``: many HTTP/1.1 requests in flight on one thread, every read timestamped at the socket.

Why not httpx: measured on a 2-core machine against the local relay in another process (16 streams of
60 tokens at 0.5-2 ms per token), an asyncio + httpx client used 5.1 ms of CPU per request (about 80 µs per
event-stream chunk) and its timestamps ran 3-7 ms late at p50/p95; this loop uses about 0.4 ms per request
and stays within 0.5 ms of the server's own log.

The design that buys that: non-blocking sockets on one ``selectors`` loop; per read only the HTTP framing
(``rawhttp.ResponseReader``), the body bytes kept with their timestamp, and event-stream and JSON parsing
left for later (``relaycli.bench.analyze``). A read's timestamp is the kernel's receive time of its last
bytes (``SO_TIMESTAMPNS``, plain TCP on Linux, converted from CLOCK_REALTIME to the clock's base at every
wake-up), so it does not depend on when this process got the CPU; elsewhere (TLS, other systems) it is
``clock()`` right after ``select`` returned, an upper bound on when every ready socket's bytes arrived.
The loop also measures itself: how long it was busy between two ``select`` calls (``blind_ns``: without
kernel timestamps, bytes arriving then are stamped late by up to that much) and how late timed waits woke
(``late_ns``).

Connections are kept alive and reused; a connection that turns readable while idle was closed by the
server and is dropped. Failures become ``TimedRequest.error`` (``dns``, ``refused``, ``reset``, ``tls``,
``timeout``, ``network``, ``truncated``, ``protocol``): the engine never raises for one request.
"""

from __future__ import annotations

import selectors
import sys
import time
from array import array
from collections import deque
from collections.abc import Callable

from relaycli.measure.connection import CONNECTING, HANDSHAKE, IDLE, Connection
from relaycli.measure.timed import TimedRequest, Wire

__all__ = ["Engine", "TimedRequest", "Wire"]

_SWEEP_NS = 20_000_000


class Engine:
    """Send ``TimedRequest`` objects with ``submit``; collect finished ones (ok or failed) from ``poll``."""

    def __init__(
        self, wires: list[Wire], *, clock: Callable[[], int] = time.perf_counter_ns, kernel_stamps: bool | None = None
    ) -> None:
        self.wires = wires
        self.clock = clock
        # Kernel receive timestamps (plain-TCP sockets on Linux) make read times independent of when this
        # process gets to run; they are converted into the clock's time base, so only with the real clock.
        if kernel_stamps is None:
            kernel_stamps = sys.platform == "linux" and clock is time.perf_counter_ns
        self.kernel_stamps = kernel_stamps
        self.realtime_offset = 0
        self.selector = selectors.DefaultSelector()
        self.idle: list[deque[Connection]] = [deque() for _ in wires]
        self.busy: set[Connection] = set()
        self.opened = [0] * len(wires)
        self.setup_errors: list[tuple[int, str, str]] = []
        self.in_flight = 0
        self.last_events = 0
        self.blind_ns = array("q")
        self.late_ns = array("q")
        self._done: list[TimedRequest] = []
        self._returned: int | None = None
        self._next_sweep = 0
        self._pending_connects: set[Connection] = set()

    def connect(self, wire_index: int, count: int) -> None:
        """Open ``count`` connections ahead of time (a warm pool); ``poll`` until ``connecting`` is 0."""
        for _ in range(count):
            conn = self._open(wire_index)
            self._pending_connects.add(conn)

    @property
    def connecting(self) -> int:
        self._pending_connects = {c for c in self._pending_connects if c.state in (CONNECTING, HANDSHAKE)}
        return len(self._pending_connects)

    def idle_count(self, wire_index: int) -> int:
        return sum(1 for c in self.idle[wire_index] if c.state == IDLE)

    def _open(self, wire_index: int) -> Connection:
        conn = Connection(self, wire_index)
        self.opened[wire_index] += 1
        self.busy.add(conn)
        conn.start_connect()
        return conn

    def submit(self, ex: TimedRequest) -> None:
        """Send now on an idle connection of the exchange's wire, or on a new one."""
        now = self.clock()
        ex.t_send = ex.t_last_io = now
        self.in_flight += 1
        idle = self.idle[ex.wire]
        while idle:
            conn = idle.pop()
            if conn.state == IDLE:
                conn.assign(ex, now)
                return
        conn = Connection(self, ex.wire)
        self.opened[ex.wire] += 1
        conn.assign(ex, now)
        conn.start_connect()

    def complete(self, ex: TimedRequest) -> None:
        self.in_flight -= 1
        self._done.append(ex)

    def poll(self, timeout_s: float | None) -> list[TimedRequest]:
        """Wait up to ``timeout_s`` (None: until something happens) and handle what is ready; return the
        exchanges that finished."""
        clock = self.clock
        t_call = clock()
        if self._returned is not None:
            self.blind_ns.append(t_call - self._returned)
        events = self.selector.select(timeout_s)
        now = clock()
        if events and self.kernel_stamps:
            self.realtime_offset = time.time_ns() - clock()
        self.last_events = len(events)
        self._returned = now
        if not events and timeout_s:
            late = now - t_call - int(timeout_s * 1e9)
            if late > 0:
                self.late_ns.append(late)
        for key, _ in events:
            key.data.on_event(now)
        if now >= self._next_sweep:
            self._next_sweep = now + _SWEEP_NS
            self._sweep(now)
        done, self._done = self._done, []
        return done

    def _sweep(self, now: int) -> None:
        for conn in list(self.busy):
            reason = conn.timed_out(now)
            if reason:
                conn.fail("timeout", reason, now)

    def abandon(self, reason: str = "interrupted by Ctrl-C") -> list[TimedRequest]:
        """Stop every request still in flight (Ctrl-C, SIGTERM): each ends as an ``interrupted`` exchange."""
        now = self.clock()
        for conn in list(self.busy):
            if conn.ex is not None:
                conn.fail("interrupted", reason, now)
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        for conn in list(self.busy) + [c for q in self.idle for c in q]:
            conn.close()
        self.selector.close()
