"""``LoopTransport``: the synchronous httpx client's requests, sent from the event loop.

``RelayClient(on_loop=True)`` (``relay serve``, ``relay batch``) gives its ``httpx.Client`` this transport:
each request and each read of a response body is awaited on the loop through ``bridge.wait``, so many
requests share one thread while the client core above stays synchronous. It must be used inside
``bridge.run``.

The HTTP/1.1 exchange is httpcore's (``AsyncHTTPConnection``), over a small asyncio network backend
(``loop_network.py``). The connections are kept here, idle ones per origin, last used first: taking one
and giving it back cost the same however many there are (httpcore's own pool looks at every connection on
each request, which at a few dozen connections costs more than the request). Through a proxy the requests
go through httpx's async transport instead.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from relaycli.core.bridge import inside, wait
from relaycli.core.loop_network import LoopNetwork

__all__ = ["LoopTransport"]

_HTTPCORE_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)
KEEP_ALIVE_S = 5.0  # an idle connection is closed after this long (httpx's default)
MAX_IDLE = 256  # idle connections kept per origin


class LoopTransport(httpx.BaseTransport):
    def __init__(self, *, verify: bool, proxy: str | None = None) -> None:
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._network = LoopNetwork()
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._proxied = httpx.AsyncHTTPTransport(verify=verify, proxy=proxy) if proxy else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not inside():
            raise RuntimeError("a client made for the event loop was used outside bridge.run()")
        if self._proxied is not None:
            response = wait(self._proxied.handle_async_request(request))
            body: httpx.SyncByteStream = _ProxiedBody(response)
            return httpx.Response(
                response.status_code, headers=response.headers, stream=body, extensions=response.extensions
            )
        url = request.url
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        sent = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        connection = self._take(origin)
        try:
            answer = wait(connection.handle_async_request(sent))
        except _HTTPCORE_ERRORS as exc:
            wait(connection.aclose())
            raise _httpx_error(exc, request) from exc
        except BaseException:
            wait(connection.aclose())
            raise
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer, request, lambda: self._give_back(origin, connection)),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        if not inside():  # the loop has ended, and its connections with it
            return
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                wait(connection.aclose())
        if self._proxied is not None:
            wait(self._proxied.aclose())

    # -- the connections ------------------------------------------------------------------------------
    def _take(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get(_where(origin))
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            wait(connection.aclose())
        return httpcore.AsyncHTTPConnection(
            origin,
            ssl_context=self._ssl_context() if origin.scheme == b"https" else None,
            keepalive_expiry=KEEP_ALIVE_S,
            network_backend=self._network,
        )

    def _give_back(self, origin: httpcore.Origin, connection: httpcore.AsyncHTTPConnection) -> None:
        idle = self._idle.setdefault(_where(origin), [])
        if connection.is_idle() and len(idle) < MAX_IDLE:
            idle.append(connection)
        else:
            wait(connection.aclose())

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(verify=self._verify)
        return self._ssl


class _Body(httpx.SyncByteStream):
    def __init__(self, answer: httpcore.Response, request: httpx.Request, done: Any) -> None:
        self._answer = answer
        self._request = request
        self._done = done
        self._closed = False

    @property
    def h11_state(self) -> Any:
        """The connection's HTTP state, for ``core/reuse.py``."""
        connection = getattr(self._answer.stream, "_connection", None)
        return getattr(connection, "_h11_state", None)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from _awaited(self._answer.stream)
        except _HTTPCORE_ERRORS as exc:
            raise _httpx_error(exc, self._request) from exc

    def close(self) -> None:
        if self._closed or not inside():
            return
        self._closed = True
        wait(self._answer.aclose())  # the connection is idle again if the body was read to its end
        self._done()


class _ProxiedBody(httpx.SyncByteStream):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._httpcore_stream = getattr(response.stream, "_httpcore_stream", None)  # for core/reuse.py

    def __iter__(self) -> Iterator[bytes]:
        yield from _awaited(self._response.stream)  # httpx's own errors already

    def close(self) -> None:
        if inside():
            wait(self._response.aclose())


def _awaited(stream: Any) -> Iterator[bytes]:
    """An async byte stream's chunks, each awaited on the loop."""
    chunks = stream.__aiter__()
    while True:
        try:
            yield wait(chunks.__anext__())
        except StopAsyncIteration:
            return


def _where(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port


def _httpx_error(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """httpcore's exception as httpx's of the same name (httpx's own transport maps them so)."""
    kind = getattr(httpx, type(exc).__name__, None)
    if not (isinstance(kind, type) and issubclass(kind, httpx.TransportError)):
        kind = httpx.TransportError
    return kind(str(exc), request=request)
