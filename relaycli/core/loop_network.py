"""``LoopNetwork``: httpcore's network backend on plain asyncio, for ``loop_transport.py``.

httpcore's own asyncio backend goes through anyio, whose cancel scopes, task lookups and typed attributes
cost more than the read they wrap. Here a connection is an ``asyncio.Protocol`` that keeps what arrives in
a buffer; a read takes from it or waits for more (with a timer for its timeout), and a connection is
"readable" when something is buffered or the server closed it, which is how httpcore tells an idle
connection the server has dropped. Errors are httpcore's (``ConnectError``, ``ReadTimeout``...) raised
from the ``OSError`` behind them, so relay names a refused connection, a DNS failure or a TLS error as
it does on the synchronous path.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

__all__ = ["LoopNetwork"]

_HIGH_WATER = 256 * 1024  # buffered bytes at which the socket is no longer read until some are taken


class _Expired(Exception):
    """Internal: a read's, write's or connect's timer ran out."""


class _Wire(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the server closed its side, or the connection was lost
        self.error: BaseException | None = None
        self.paused = False  # reading paused: the buffer is full
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for data
        self.drained: asyncio.Future[None] | None = None  # a write waiting for the socket to take more
        self.blocked = False  # writing paused by the transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= _HIGH_WATER and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        _wake(self.waiter)

    def eof_received(self) -> bool:
        self.ended = True
        _wake(self.waiter)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        _wake(self.waiter)
        _wake(self.drained)

    def pause_writing(self) -> None:
        self.blocked = True

    def resume_writing(self) -> None:
        self.blocked = False
        _wake(self.drained)


def _wake(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(_Expired())


async def _until(future: asyncio.Future[None], timeout: float | None) -> None:
    """Wait for ``future``; ``_Expired`` after ``timeout`` seconds."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


class LoopStream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, wire: _Wire) -> None:
        self._transport = transport
        self._wire = wire

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        wire = self._wire
        while not wire.buffer:
            if wire.ended:
                if wire.error is not None:
                    raise httpcore.ReadError(str(wire.error) or type(wire.error).__name__) from wire.error
                return b""
            wire.waiter = asyncio.get_running_loop().create_future()
            try:
                await _until(wire.waiter, timeout)
            except _Expired:
                raise httpcore.ReadTimeout("timed out") from None
            finally:
                wire.waiter = None
        data = bytes(wire.buffer[:max_bytes])
        del wire.buffer[:max_bytes]
        if wire.paused and len(wire.buffer) < _HIGH_WATER // 2:
            wire.paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        wire = self._wire
        if wire.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed") from wire.error
        self._transport.write(buffer)
        while wire.blocked and not wire.ended:
            wire.drained = asyncio.get_running_loop().create_future()
            try:
                await _until(wire.drained, timeout)
            except _Expired:
                raise httpcore.WriteTimeout("timed out") from None
            finally:
                wire.drained = None
        if wire.ended and wire.error is not None:
            raise httpcore.WriteError(str(wire.error)) from wire.error

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            secured = await asyncio.wait_for(
                loop.start_tls(self._transport, self._wire, ssl_context, server_hostname=server_hostname), timeout
            )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        assert secured is not None
        return LoopStream(secured, self._wire)

    def arrived(self) -> bool:
        """Whether something came that nobody read yet, or the server hung up (also when the loop has not
        yet run to see it: the socket is asked)."""
        if self._wire.buffer or self._wire.ended:
            return True
        sock = self._transport.get_extra_info("socket")
        try:
            return sock is not None and bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True  # a socket that cannot be asked is not one to send on

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # how httpcore tells an idle connection that the server dropped
            return self.arrived()
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        if name in ("ssl_object", "socket", "sockname", "peername"):
            return self._transport.get_extra_info(name)
        return None


class LoopNetwork(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            transport, wire = await asyncio.wait_for(
                loop.create_connection(_Wire, host, port, local_addr=local), timeout
            )
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return LoopStream(transport, wire)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport, wire = await asyncio.wait_for(loop.create_unix_connection(_Wire, path), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return LoopStream(transport, wire)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
