"""Bytes from a request's pipeline to the task that writes them to its client.

The request pipeline is synchronous and runs in a greenlet on the event loop's thread (``core/bridge.py``);
whenever it waits for the upstream, the loop runs the task that sends what it put. ``put`` appends and
wakes that task, so the events of one upstream read go to the client as one write, not one per token.
``cancel`` (the client left, the server is stopping) makes the next ``put`` raise ``OutputClosed``, which
the pipeline records as an interrupted request.
"""

from __future__ import annotations

import asyncio

from relaycli.errors import OutputClosed

__all__ = ["Channel"]


class Channel:
    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._ended = False
        self._ready = asyncio.Event()
        self.cancelled = False

    # -- the pipeline ---------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise ``OutputClosed`` once the request is given up on."""
        if self.cancelled:
            raise OutputClosed("the client is gone")

    def put(self, data: bytes) -> None:
        self.check()
        if data:
            self._parts.append(data)
            self._ready.set()

    def end(self) -> None:
        """No more data: called whatever ended the request (again after an early clean end: no harm)."""
        self._ended = True
        self._ready.set()

    # -- the writing task -----------------------------------------------------------------------------
    async def take(self) -> tuple[bytes, bool]:
        """Everything put so far (waiting for some) and whether the end came."""
        await self._ready.wait()
        self._ready.clear()
        parts, self._parts = self._parts, []
        return b"".join(parts), self._ended

    def cancel(self) -> None:
        self.cancelled = True
