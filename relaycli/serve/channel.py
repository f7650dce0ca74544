"""Bytes from a pipeline thread to the event loop that writes them to a client.

The request pipeline is synchronous and runs in a worker thread; the HTTP server is an asyncio loop.
``put`` appends and wakes the loop at most once for everything put before it runs, so a fast stream costs
one wake-up per batch of events, not one per token. ``cancel`` (the client left, the server is stopping)
makes the next ``put`` raise ``OutputClosed``, which the pipeline records as an interrupted request.
"""

from __future__ import annotations

import asyncio
import threading

from relaycli.errors import OutputClosed

__all__ = ["Channel"]


class Channel:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._parts: list[bytes] = []
        self._ended = False
        self._woken = False
        self._ready = asyncio.Event()
        self.cancelled = False

    # -- the worker thread --------------------------------------------------------------------------
    def check(self) -> None:
        """Raise ``OutputClosed`` once the request is given up on."""
        if self.cancelled:
            raise OutputClosed("the client is gone")

    def put(self, data: bytes) -> None:
        self.check()
        if data:
            self._push(data, end=False)

    def end(self) -> None:
        """No more data (called once, whatever ended the request)."""
        self._push(b"", end=True)

    def _push(self, data: bytes, *, end: bool) -> None:
        with self._lock:
            if data:
                self._parts.append(data)
            if end:
                self._ended = True
            if self._woken:
                return
            self._woken = True
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed: the server stopped and nobody reads any more
            self.cancelled = True

    def _wake(self) -> None:
        self._ready.set()

    # -- the event loop -----------------------------------------------------------------------------
    async def take(self) -> tuple[bytes, bool]:
        """Everything put so far (waiting for some) and whether the end came."""
        await self._ready.wait()
        self._ready.clear()
        with self._lock:
            parts, self._parts = self._parts, []
            ended = self._ended
            self._woken = False
        return b"".join(parts), ended

    def cancel(self) -> None:
        self.cancelled = True
