"""One HTTP/1.1 connection to an upstream, on the event loop: what ``loop_transport.py`` sends requests over.

A connection is an ``asyncio.Protocol``. The response is parsed as bytes arrive by httptools (llhttp, the
parser Node.js uses, which relay serve's server side already loads), so a whole streamed answer costs a
few C callbacks instead of a pure-Python state machine per event. One exchange at a time: the request is
written in one piece (relay's bodies are JSON it already holds), then the status and headers are awaited,
then the body's pieces as they come. A connection goes back to the idle pool only when its response ended
exactly where the parser says it did and the server did not ask to close; bytes arriving while it is idle,
or the server hanging up, make it unusable.

Failures are raised as httpx's exceptions (``ConnectError`` from the ``OSError`` behind it,
``ReadTimeout``, ``RemoteProtocolError``...), so the client core names them as it does everywhere else.
"""

from __future__ import annotations

import asyncio
import select
import ssl
from collections import deque

import httptools
import httpx

__all__ = ["Connection", "open_connection"]

_HIGH_WATER = 256 * 1024  # body bytes waiting to be read at which the socket is no longer read


class _Expired(Exception):
    """Internal: a wait's timer ran out."""


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._active = False  # an exchange is under way
        self._stray = False  # bytes came while idle: the connection cannot be trusted with another request
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.reason = b""  # the status line's reason phrase
        self._head = False
        self.complete = False  # the parser saw the response's end
        self._keep = False  # and the server did not ask to close
        self._framed = False  # the body's end is marked (a length or chunks), not the connection's close
        self._chunked = False
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._lost: BaseException | None = None
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused_reading = False
        self._paused_writing = False
        self._drained: asyncio.Future[None] | None = None

    # -- what the pool asks ----------------------------------------------------------------------------
    def reusable(self) -> bool:
        """Idle and still good: the last response ended cleanly, nothing came since, the server is there."""
        if self._active or self._stray or self._eof or self._error is not None or self.transport is None:
            return False
        # the server may have hung up while the loop was busy: the socket says so before the loop does
        return not self.transport.is_closing() and not self._readable()

    def finished_cleanly(self) -> bool:
        """The exchange's response was read to its end, and the connection may carry another."""
        return self.complete and self._keep and not self._chunks and not self._eof

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- one exchange ------------------------------------------------------------------------------------
    async def send(self, data: bytes, *, write_timeout: float | None, read_timeout: float | None) -> None:
        """Write the request and wait for the response's status and headers."""
        assert self.transport is not None
        self._reset()
        self._active = True
        if self._eof or self.transport.is_closing():
            raise httpx.WriteError("the connection is closed")
        self.transport.write(data)
        if self._paused_writing:
            self._drained = asyncio.get_running_loop().create_future()
            try:
                await _within(self._drained, write_timeout)
            except _Expired:
                raise httpx.WriteTimeout("timed out writing the request") from None
        while not self._head:
            self._check()
            if self._eof:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            await self._wait(read_timeout)

    async def read(self, read_timeout: float | None) -> bytes | None:
        """The next piece of the body, or None at its end."""
        while not self._chunks:
            if self.complete:  # what the server did after the end (a reset, say) is not this response's
                return None
            self._check()
            if self._eof:
                if self._framed:  # worded as httpx's own transport words it
                    how = " (incomplete chunked read)" if self._chunked else ""
                    raise httpx.RemoteProtocolError(
                        f"peer closed connection without sending complete message body{how}"
                    )
                self.complete = True  # a body that ends when the connection does
                return None
            await self._wait(read_timeout)
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused_reading and self._buffered < _HIGH_WATER // 2 and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
        return chunk

    async def settle(self) -> None:
        """Let the end of the body in, if it has already come (the last chunk of a chunked body often
        trails the end marker by a moment): the loop reads what the socket holds, twice at most, and this
        never waits for more."""
        for _ in range(2):
            if self.complete or not self._readable():
                return
            await asyncio.sleep(0)

    def done(self) -> None:
        """The exchange is over (its body read or given up)."""
        self._active = False

    def _readable(self) -> bool:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        try:
            return sock is not None and bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _reset(self) -> None:
        self.status, self.headers, self._head, self.complete, self._framed = 0, [], False, False, False
        self._chunked = False
        self._keep = False
        self.reason = b""
        self._chunks.clear()
        self._buffered = 0

    def _check(self) -> None:
        if self._error is not None:
            raise httpx.RemoteProtocolError(f"malformed HTTP response: {self._error}") from self._error
        if self._lost is not None and not self._chunks:
            raise httpx.ReadError(str(self._lost) or type(self._lost).__name__) from self._lost

    async def _wait(self, timeout: float | None) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await _within(self._waiter, timeout)
        except _Expired:
            raise httpx.ReadTimeout("timed out") from None
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- asyncio.Protocol ----------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self._active or self.complete:
            self._stray = True  # nothing was asked: whatever this is, the connection is done for
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._error = ValueError("the server switched protocols")
        except httptools.HttpParserError as exc:
            self._error = exc
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        if exc is not None:
            self._lost = exc
        self._wake()
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    # -- httptools' callbacks ----------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.complete:  # a second response in the same packet: nothing was asked for it
            self._stray = True

    def on_status(self, reason: bytes) -> None:
        if not self._stray:
            self.reason += reason  # it may come in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._stray:
            return
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"transfer-encoding" and b"chunked" in value.lower():
            self._framed = self._chunked = True
        elif lowered == b"content-length":
            self._framed = True

    def on_headers_complete(self) -> None:
        if self._stray:
            return
        self.status = self._parser.get_status_code()
        if 100 <= self.status < 200:  # an interim response: the real one follows
            self.headers = []
            self.reason = b""
            self._framed = self._chunked = False
            return
        self._head = True

    def on_body(self, body: bytes) -> None:
        if self._stray:
            return
        self._chunks.append(bytes(body))
        self._buffered += len(body)
        if self._buffered >= _HIGH_WATER and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._head and not self._stray:  # not the end of an interim response, nor of one never asked for
            self.complete = True
            self._keep = self._parser.should_keep_alive()  # asked now: the parser forgets once it moves on


async def open_connection(host: str, port: int, *, tls: ssl.SSLContext | None, timeout: float | None) -> Connection:
    loop = asyncio.get_running_loop()
    try:
        _, connection = await asyncio.wait_for(
            loop.create_connection(Connection, host, port, ssl=tls, server_hostname=host if tls else None),
            timeout,
        )
    except TimeoutError:
        raise httpx.ConnectTimeout("timed out") from None
    except (OSError, ssl.SSLError) as exc:
        raise httpx.ConnectError(str(exc)) from exc
    return connection


async def _within(future: asyncio.Future[None], timeout: float | None) -> None:
    """Wait for ``future``; ``_Expired`` after ``timeout`` seconds."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(_Expired())
