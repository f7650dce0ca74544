"""One keep-alive connection of the bench ``Engine``: a non-blocking state machine (connect, TLS handshake,
idle, send, read) that timestamps every read and never raises for a request: failures become
``TimedRequest.error``. See ``engine`` for the design and the measurements behind it."""

from __future__ import annotations

import errno
import os
import selectors
import socket
import ssl
import struct
from typing import TYPE_CHECKING

from relaycli.measure.http1 import ProtocolError, ResponseReader
from relaycli.measure.sockets import classify, describe, exchange_error
from relaycli.measure.timed import TimedRequest

if TYPE_CHECKING:
    from relaycli.measure.engine import Engine

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
CONNECTING, HANDSHAKE, IDLE, SENDING, READING, CLOSED = range(6)
_RECV = 262_144
SO_TIMESTAMPNS = 35  # Linux: receive timestamps as struct timespec (CLOCK_REALTIME) in the ancillary data
_TIMESPEC = struct.Struct("@qq")


class Connection:
    __slots__ = (
        "engine",
        "wire_index",
        "wire",
        "sock",
        "state",
        "ex",
        "out",
        "reader",
        "t_open",
        "t_tcp",
        "used",
        "mask",
        "registered",
        "stamped",
    )

    def __init__(self, engine: Engine, wire_index: int) -> None:
        self.engine = engine
        self.wire_index = wire_index
        self.wire = engine.wires[wire_index]
        self.sock: socket.socket | ssl.SSLSocket = socket.socket(self.wire.family, socket.SOCK_STREAM)
        self.state = CONNECTING
        self.ex: TimedRequest | None = None
        self.out = b""
        self.reader: ResponseReader | None = None
        self.t_open = engine.clock()
        self.t_tcp = 0
        self.used = 0
        self.mask = 0
        self.registered = False
        self.stamped = False  # reads carry the kernel's receive timestamp (SO_TIMESTAMPNS)

    # -- selector bookkeeping -------------------------------------------------------------------

    def want(self, mask: int) -> None:
        if mask == self.mask:
            return
        sel = self.engine.selector
        if not self.registered:
            sel.register(self.sock, mask, self)
            self.registered = True
        else:
            sel.modify(self.sock, mask, self)
        self.mask = mask

    def close(self) -> None:
        if self.state == CLOSED:
            return
        self.state = CLOSED
        self.engine.busy.discard(self)
        if self.registered:
            self.engine.selector.unregister(self.sock)
            self.registered = False
        self.sock.close()

    # -- connection set-up ----------------------------------------------------------------------

    def start_connect(self) -> None:
        sock = self.sock
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.connect(self.wire.sockaddr)
        except BlockingIOError:
            self.want(WRITE)
            return
        except OSError as exc:
            self.fail(classify(exc), describe(exc), self.engine.clock())
            return
        self.connected(self.engine.clock())

    def connected(self, now: int) -> None:
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            exc = OSError(err, os.strerror(err))
            if err == errno.ECONNREFUSED:
                exc = ConnectionRefusedError(err, os.strerror(err))
            self.fail(classify(exc), describe(exc), now)
            return
        self.t_tcp = now
        if self.ex is not None:
            self.ex.connect_ns = now - self.t_open
        context = self.wire.ssl_context
        if context is None:
            if self.engine.kernel_stamps:
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                    self.stamped = True
                except OSError:
                    pass
            self.ready(now)
            return
        if self.registered:  # the wrapped socket is a new object: register it afresh
            self.engine.selector.unregister(self.sock)
            self.registered, self.mask = False, 0
        try:
            self.sock = context.wrap_socket(
                self.sock, server_hostname=self.wire.origin.host, do_handshake_on_connect=False
            )
        except (OSError, ValueError) as exc:
            self.fail("tls", describe(exc), now)
            return
        self.state = HANDSHAKE
        self.handshake(now)

    def handshake(self, now: int) -> None:
        sock = self.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self.want(READ)
            return
        except ssl.SSLWantWriteError:
            self.want(WRITE)
            return
        except (OSError, ssl.CertificateError) as exc:
            self.fail(classify(exc), describe(exc), now)
            return
        if self.ex is not None:
            self.ex.tls_ns = now - self.t_tcp
        self.ready(now)

    def ready(self, now: int) -> None:
        if self.ex is not None:
            self.send(now)
            return
        self.state = IDLE
        self.engine.busy.discard(self)
        self.want(READ)
        self.engine.idle[self.wire_index].append(self)

    # -- one exchange ---------------------------------------------------------------------------

    def assign(self, ex: TimedRequest, now: int) -> None:
        self.ex = ex
        self.out = ex.payload
        self.reader = ResponseReader()
        ex.reused = self.state == IDLE  # connected before this request: no connect on its path
        self.used += 1
        self.engine.busy.add(self)
        if self.state == IDLE:
            self.send(now)

    def send(self, now: int) -> None:
        self.state = SENDING
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            self.want(WRITE)
            return
        except OSError as exc:
            self.fail(classify(exc), describe(exc), now)
            return
        self.out = self.out[sent:]
        if self.out:
            self.want(WRITE)
            return
        self.state = READING
        self.want(READ)

    def read(self, now: int) -> None:
        sock = self.sock
        ex, reader = self.ex, self.reader
        assert ex is not None and reader is not None
        try:
            if self.stamped:
                data, anc, _, _ = sock.recvmsg(_RECV, 64)  # type: ignore[arg-type]  # plain sockets only
                if anc:  # when the kernel received the last of these bytes, in perf_counter time
                    sec, nsec = _TIMESPEC.unpack_from(anc[0][2])
                    stamp = sec * 1_000_000_000 + nsec - self.engine.realtime_offset
                    if ex.t_send <= stamp <= now:
                        now = stamp
            else:
                data = sock.recv(_RECV)
                if self.wire.ssl_context is not None and data:
                    while sock.pending():  # type: ignore[union-attr]
                        data += sock.recv(_RECV)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as exc:
            self.fail(classify(exc), describe(exc), now)
            return
        if not data:
            try:
                reader.eof()
            except ProtocolError as exc:
                kind = "truncated" if reader.head_done else "reset"
                self.fail(kind, str(exc), now)
                return
            self.finish(now, keep=False)
            return
        ex.t_last_io = now
        try:
            body = reader.feed(data)
        except ProtocolError as exc:
            self.fail("protocol", str(exc), now)
            return
        if ex.t_headers is None and reader.head_done:
            ex.t_headers = now
            ex.status = reader.status
            ex.headers = reader.headers
        if body:
            ex.pieces.append((now, body))
        if reader.done:
            self.finish(now, keep=reader.keep_alive)

    def finish(self, now: int, *, keep: bool) -> None:
        ex = self.ex
        assert ex is not None
        ex.t_end = now
        self.ex = None
        self.engine.complete(ex)
        if keep and self.state != CLOSED:
            self.engine.busy.discard(self)
            self.state = IDLE
            self.want(READ)
            self.engine.idle[self.wire_index].append(self)
        else:
            self.close()

    def fail(self, kind: str, detail: str, now: int) -> None:
        ex = self.ex
        self.close()
        if ex is None:
            self.engine.setup_errors.append((self.wire_index, kind, detail))
            return
        self.ex = None
        ex.error, ex.detail, ex.t_end = kind, detail, now
        wire = self.wire  # a timeout's detail already says which limit it was
        ex.failure = exchange_error(kind, detail, host=wire.origin.host, address=str(wire.origin), profile=wire.profile)
        self.engine.complete(ex)

    def on_event(self, now: int) -> None:
        state = self.state
        if state == READING:
            self.read(now)
        elif state == SENDING:
            self.send(now)
        elif state == CONNECTING:
            self.connected(now)
        elif state == HANDSHAKE:
            self.handshake(now)
        elif state == IDLE:  # readable while idle: the server closed it (or misbehaved): drop it
            if self.wire.ssl_context is not None:
                try:
                    self.sock.recv(1)  # TLS 1.3 servers send session tickets after the handshake
                except ssl.SSLWantReadError:
                    return
                except OSError:
                    pass
            self.close()

    def timed_out(self, now: int) -> str | None:
        wire, ex = self.wire, self.ex
        if self.state in (CONNECTING, HANDSHAKE):
            if now - self.t_open > wire.connect_timeout_s * 1e9:
                return f"no connection within {wire.connect_timeout_s:g} s"
            return None
        if ex is None:
            return None
        if now - ex.t_send > wire.total_timeout_s * 1e9:
            return f"the request took more than {wire.total_timeout_s:g} s"
        if now - ex.t_last_io > wire.read_timeout_s * 1e9:
            return f"nothing received for {wire.read_timeout_s:g} s"
        return None
