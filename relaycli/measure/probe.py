"""``probe``: one HTTP/1.1 request on a fresh connection, each phase timed: DNS, TCP connect, TLS handshake,
time to first byte, end. Blocking sockets with per-phase timeouts; used by ``relay ping``.

Failures raise RelayErrors (``NetworkError`` exit 7, ``RelayTimeout`` exit 6) naming the phase, the host
and the profile; an HTTP error status is not a failure here (the caller judges it).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from relaycli.config.profile import Timeouts
from relaycli.errors import EndpointError, RelayError
from relaycli.measure.http1 import Origin, ProtocolError, ResponseReader
from relaycli.measure.sockets import classify, relay_error, resolve

_RECV = 65536


@dataclass(slots=True)
class ProbeResult:
    address: str = ""
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    pieces: list[tuple[int, bytes]] = field(default_factory=list)  # (read time, body bytes)
    t_start: int = 0
    t_dns: int = 0
    t_connect: int = 0
    t_tls: int | None = None
    t_send: int = 0
    t_first_byte: int = 0
    t_end: int = 0

    @property
    def body(self) -> bytes:
        return b"".join(d for _, d in self.pieces)

    def ms(self, phase: str) -> float | None:
        """``dns``, ``connect``, ``tls``, ``ttfb`` or ``total``, in milliseconds."""
        spans = {
            "dns": (self.t_start, self.t_dns),
            "connect": (self.t_dns, self.t_connect),
            "tls": (self.t_connect, self.t_tls),
            "ttfb": (self.t_send, self.t_first_byte),
            "total": (self.t_start, self.t_end),
        }
        a, b = spans[phase]
        return None if b is None or not b else (b - a) / 1e6


def probe(
    origin: Origin,
    request: bytes,
    *,
    timeouts: Timeouts,
    profile: str,
    context: ssl.SSLContext | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> ProbeResult:
    """Send ``request`` (complete bytes) to ``origin`` on a new connection and read the whole response."""
    res = ProbeResult(t_start=clock())
    deadline = res.t_start + timeouts.total * 1e9

    def fail(exc: BaseException, kind: str | None = None, seconds: float = 0) -> RelayError:
        return relay_error(
            kind or classify(exc), exc, host=origin.host, address=str(origin), profile=profile, seconds=seconds
        )

    try:
        addresses = resolve(origin.host, origin.port)
    except OSError as exc:
        raise fail(exc, "dns") from exc
    res.t_dns = clock()
    sock: socket.socket | None = None
    last: OSError | None = None
    for family, sockaddr in addresses:
        candidate = socket.socket(family, socket.SOCK_STREAM)
        candidate.settimeout(timeouts.connect)
        try:
            candidate.connect(sockaddr)
        except OSError as exc:
            candidate.close()
            last = exc
            continue
        sock, res.address = candidate, str(sockaddr[0])
        break
    if sock is None:
        assert last is not None
        raise fail(last, seconds=timeouts.connect) from last
    try:
        res.t_connect = clock()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if origin.tls:
            assert context is not None
            try:
                sock = context.wrap_socket(sock, server_hostname=origin.host)
            except (OSError, ssl.CertificateError) as exc:
                kind = "timeout" if isinstance(exc, TimeoutError) else "tls"
                raise fail(exc, kind, timeouts.connect) from exc
            res.t_tls = clock()
        sock.settimeout(timeouts.read)
        res.t_send = clock()
        try:
            sock.sendall(request)
            _read(sock, res, clock, deadline)
        except ProtocolError as exc:
            raise EndpointError(f"{origin} (profile '{profile}') sent a broken HTTP response: {exc}") from exc
        except OSError as exc:
            raise fail(exc, seconds=timeouts.read) from exc
    finally:
        sock.close()
    return res


def _read(sock: socket.socket, res: ProbeResult, clock: Callable[[], int], deadline: float) -> None:
    reader = ResponseReader()
    while not reader.done:
        data = sock.recv(_RECV)
        now = clock()
        if not res.t_first_byte:
            res.t_first_byte = now
        if not data:
            reader.eof()
            break
        body = reader.feed(data)
        if reader.head_done and not res.status:
            res.status, res.headers = reader.status, reader.headers
        if body:
            res.pieces.append((now, body))
        if now > deadline:
            raise TimeoutError("the total time limit was reached")
    res.t_end = clock()
