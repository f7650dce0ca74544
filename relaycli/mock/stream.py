"""Writing a chunked event stream on time: coalesce what is due now, flush before every wait, sleep to
absolute deadlines (so paced tokens never drift), send keep-alive pings while waiting, and notice when
the client has gone away."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable

from relaycli.mock.httpio import LAST_CHUNK

FLUSH_AT = 64 * 1024


class ClientGone(Exception):
    """The client closed the connection; the response is abandoned."""


class Emitter:
    """Buffers a streamed response and writes it at the right moments; records token timestamps."""

    def __init__(self, writer: asyncio.StreamWriter, *, ping: bytes, keepalive: float) -> None:
        self._writer = writer
        self._transport = writer.transport
        self._ping = ping
        self._keepalive = keepalive
        self._raw: list[bytes] = []
        self._events: list[bytes] = []
        self._size = 0
        self._pending_tokens = 0
        self._last_write = time.perf_counter()
        self.first_token_ns: int | None = None
        self.last_token_ns: int | None = None
        self.tokens_written = 0

    def raw(self, data: bytes) -> None:
        """Bytes sent as they are (the response head), before any buffered event."""
        self._raw.append(data)
        self._size += len(data)

    def add(self, event: bytes, *, tokens: int = 0) -> None:
        """One SSE event (or several), carrying ``tokens`` content tokens."""
        self._events.append(event)
        self._size += len(event)
        self._pending_tokens += tokens

    def _take(self) -> bytes:
        """Everything buffered as one write; token timestamps are taken here, just before writing."""
        parts = self._raw
        if self._events:
            body = b"".join(self._events)
            parts.append(b"%x\r\n%b\r\n" % (len(body), body))
        data = b"".join(parts) if len(parts) != 1 else parts[0]
        self._raw, self._events, self._size = [], [], 0
        now_ns = time.perf_counter_ns()
        self._last_write = now_ns / 1e9
        if self._pending_tokens:
            if self.first_token_ns is None:
                self.first_token_ns = now_ns
            self.last_token_ns = now_ns
            self.tokens_written += self._pending_tokens
            self._pending_tokens = 0
        return data

    async def _write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise ClientGone
        self._writer.write(data)
        await self._drain()

    async def flush(self) -> None:
        if self._raw or self._events:
            if self._transport.is_closing():
                raise ClientGone
            await self._write(self._take())

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ClientGone from exc

    async def end(self, before_last_write: Callable[[], None] | None = None) -> None:
        """Send everything left and terminate the chunked body (the connection stays usable).
        ``before_last_write`` runs just before the final bytes go out."""
        if self._transport.is_closing():
            raise ClientGone
        data = self._take() + LAST_CHUNK
        if before_last_write is not None:
            before_last_write()
        await self._write(data)

    async def wait_until(self, deadline: float) -> None:
        """Return at ``deadline`` (a ``time.perf_counter()`` value), flushing first if that is later
        than now, and pinging every ``keepalive`` seconds of silence meanwhile."""
        if self._size >= FLUSH_AT:
            await self.flush()
        now = time.perf_counter()
        if deadline <= now:
            return
        await self.flush()
        while now < deadline:
            if self._keepalive > 0:
                next_ping = self._last_write + self._keepalive
                if next_ping < deadline:
                    if next_ping > now:
                        await asyncio.sleep(next_ping - now)
                    self.add(self._ping)
                    await self.flush()
                    now = time.perf_counter()
                    continue
            await asyncio.sleep(deadline - now)
            now = time.perf_counter()

    async def stall(self, reader: asyncio.StreamReader) -> None:
        """Send nothing more (pings aside) until the client closes the connection; then raise
        ``ClientGone``."""
        await self.flush()
        while True:
            timeout: float | None = None
            if self._keepalive > 0:
                timeout = max(0.0, self._last_write + self._keepalive - time.perf_counter())
            try:
                data = await asyncio.wait_for(reader.read(65536), timeout)
            except TimeoutError:
                self.add(self._ping)
                await self.flush()
                continue
            except (ConnectionError, OSError) as exc:
                raise ClientGone from exc
            if not data:
                raise ClientGone

    def close(self) -> None:
        """Close the connection after what has been written: the abrupt end of ``stop_after``."""
        self._writer.close()

    def reset(self) -> None:
        """Reset the connection (RST instead of FIN): the end of ``reset_after``."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()
