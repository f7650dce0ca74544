"""``LoopTransport``: the synchronous httpx client's requests, sent from the event loop.

``RelayClient(on_loop=True)`` (``relay serve``, ``relay batch``) gives its ``httpx.Client`` this transport:
each request and each read of a response body is awaited on the loop through ``bridge.wait``, so many
requests share one thread while the client core above stays synchronous. It must be used inside
``bridge.run``.

The exchange itself is ``loop_connection.py``'s (HTTP/1.1 over an asyncio protocol, parsed by httptools).
Idle connections are kept here per origin, the most recently used first, for at most ``KEEP_ALIVE_S``:
taking one and giving it back cost the same however many there are. Through a proxy the requests go
through httpx's own async transport instead.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from relaycli.core.bridge import inside, wait
from relaycli.core.loop_connection import Connection, open_connection

__all__ = ["LoopTransport"]

KEEP_ALIVE_S = 5.0  # an idle connection is not used after this long (servers close theirs about then)
MAX_IDLE = 256  # idle connections kept per origin

Origin = tuple[str, str, int]


class LoopTransport(httpx.BaseTransport):
    def __init__(self, *, verify: bool, proxy: str | None = None) -> None:
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[tuple[Connection, float]]] = {}
        self._proxied = httpx.AsyncHTTPTransport(verify=verify, proxy=proxy) if proxy else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not inside():
            raise RuntimeError("a client made for the event loop was used outside bridge.run()")
        if self._proxied is not None:
            response = wait(self._proxied.handle_async_request(request))
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=_Proxied(response),
                extensions=response.extensions,
            )
        url = request.url
        # the host as httpx sends it (IDNA 2008 for a non-ASCII name), not Python's own IDNA 2003 encoding
        host = url.raw_host.decode("ascii")
        origin: Origin = (url.scheme, host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        data = _serialized(request)
        connection = self._take(origin) or wait(
            open_connection(
                origin[1],
                origin[2],
                tls=self._context() if url.scheme == "https" else None,
                timeout=timeouts.get("connect"),
            )
        )
        try:
            wait(connection.send(data, write_timeout=timeouts.get("write"), read_timeout=timeouts.get("read")))
        except httpx.TransportError as exc:
            connection.close()
            raise _for(exc, request) from exc.__cause__
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            connection.status,
            headers=connection.headers,
            stream=_Body(connection, request, timeouts.get("read"), lambda: self._give_back(origin, connection)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": connection.reason},
        )

    def close(self) -> None:
        idle, self._idle = self._idle, {}
        if not inside():  # the loop has ended, and its connections with it
            return
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()
        if self._proxied is not None:
            wait(self._proxied.aclose())

    # -- the connections ------------------------------------------------------------------------------
    def _take(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection, since = idle.pop()
            if now - since < KEEP_ALIVE_S and connection.reusable():
                return connection
            connection.close()
        return None

    def _give_back(self, origin: Origin, connection: Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if connection.finished_cleanly() and len(idle) < MAX_IDLE:
            idle.append((connection, time.monotonic()))
        else:
            connection.close()

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl


class _Body(httpx.SyncByteStream):
    def __init__(
        self, connection: Connection, request: httpx.Request, timeout: float | None, done: Callable[[], None]
    ) -> None:
        self._connection = connection
        self._request = request
        self._timeout = timeout
        self._done = done
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = wait(self._connection.read(self._timeout))
            except httpx.TransportError as exc:
                raise _for(exc, self._request) from exc.__cause__
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._connection.complete and inside():
            wait(self._connection.settle())
        self._connection.done()
        self._done()  # kept for the next request if the body was read to its end, else closed


class _Proxied(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._httpcore_stream = getattr(response.stream, "_httpcore_stream", None)  # for core/reuse.py

    def __iter__(self) -> Iterator[bytes]:
        stream: Any = self._response.stream
        chunks = stream.__aiter__()
        while True:
            try:
                yield wait(chunks.__anext__())
            except StopAsyncIteration:
                return

    def close(self) -> None:
        if inside():
            wait(self._response.aclose())


def _serialized(request: httpx.Request) -> bytes:
    """The request's head and body, as they go on the wire (httpx has set Host and Content-Length)."""
    head = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        head += (name, b": ", value, b"\r\n")
    head.append(b"\r\n")
    return b"".join(head) + request.read()


def _for(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """``exc`` with the request it belongs to (httpx's errors carry it)."""
    exc.request = request
    return exc
