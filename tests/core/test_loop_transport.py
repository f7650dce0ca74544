"""RelayClient(on_loop=True): the client core's requests sent from an event loop (core/loop_transport.py,
core/loop_network.py), against real servers on loopback: answers, connection reuse, a server that drops
idle connections, many requests at once, and failures named as on the synchronous path."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import pytest

from relaycli.config.profile import ResolvedKey, Timeouts
from relaycli.core import bridge
from relaycli.core.client import RelayClient
from relaycli.datatypes import ChatRequest, Message, Result
from relaycli.errors import NetworkError, RelayTimeout, TruncatedResponse

from .support import chunk, profile

T = TypeVar("T")


def ask(text: str) -> ChatRequest:
    return ChatRequest(model="gpt-test", messages=(Message("user", text),), stream=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the connection stays open between requests

    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["content-length"]))
        self.server.seen.append((self.headers.items(), raw))  # type: ignore[attr-defined]
        body = json.loads(raw)
        prompt = body["messages"][-1]["content"]
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "stall":
            time.sleep(1.0)
        events = [chunk(f"echo: {prompt}"), chunk(finish="stop")]
        if mode == "cut":
            events = events[:1]
        payload = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
        if mode != "cut":
            payload += b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("x-request-id", f"req-{prompt.encode('ascii', 'replace').decode()}")
        self.send_header("transfer-encoding", "chunked")  # as event streams are sent
        self.end_headers()
        end = b"" if mode == "cut" else b"0\r\n\r\n"  # cut: the body never ends, the connection closes
        self.wfile.write(b"%x\r\n%s\r\n%s" % (len(payload), payload, end))
        self.wfile.flush()
        if mode in ("drop", "cut"):  # closes without saying so: the idle connection is dead
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # 32 clients connect at once


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.mode = "ok"  # type: ignore[attr-defined]
    srv.connections = 0  # type: ignore[attr-defined]
    srv.seen = []  # type: ignore[attr-defined]
    srv.daemon_threads = True
    srv.block_on_close = False
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def client(port: int, **timeouts: float) -> RelayClient:
    prof = profile(base_url=f"http://127.0.0.1:{port}/v1", retries=0, timeout=Timeouts(**timeouts))
    return RelayClient(prof, ResolvedKey("k", "config"), quirks={}, on_loop=True)


def on_loop(fn: Callable[[], T]) -> T:
    return asyncio.run(bridge.run(fn))


def test_answers_come_as_they_do_without_the_loop(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    c = client(port)
    looped = on_loop(lambda: c.complete(ask("one")))
    prof = profile(base_url=f"http://127.0.0.1:{port}/v1", retries=0)
    with RelayClient(prof, ResolvedKey("k", "config"), quirks={}) as plain:
        direct = plain.complete(ask("one"))
    assert looped.text == direct.text == "echo: one"
    assert looped.finish_reason == direct.finish_reason == "stop"
    assert looped.request_id == direct.request_id == "req-one"
    assert looped.complete and looped.status == 200


@pytest.mark.parametrize("userinfo", ["", "alice:s3cret@"])
def test_the_upstream_gets_the_request_the_synchronous_client_sends(server: ThreadingHTTPServer, userinfo: str) -> None:
    """The loop client makes its requests itself (not through httpx's client): the same headers, in the
    same order, and the same body bytes, per-request headers and credentials in the base URL included."""
    port = server.server_address[1]
    prof = profile(base_url=f"http://{userinfo}127.0.0.1:{port}/v1", retries=0, headers={"X-Team": "blue"})
    request = ChatRequest(
        model="gpt-test",
        messages=(Message("system", "be brief"), Message("user", 'héllo ✓ "quoted"')),
        stream=True,
        temperature=0.5,
        headers={"anthropic-beta": "tools-2024"},
    )
    looped = RelayClient(prof, ResolvedKey("sk-test", "config"), quirks={}, on_loop=True)
    on_loop(lambda: looped.complete(request))
    with RelayClient(prof, ResolvedKey("sk-test", "config"), quirks={}) as plain:
        plain.complete(request)
    (loop_headers, loop_body), (sync_headers, sync_body) = server.seen  # type: ignore[attr-defined]
    assert loop_headers == sync_headers
    assert ("X-Team", "blue") in loop_headers and ("anthropic-beta", "tools-2024") in loop_headers
    assert loop_body == sync_body


def test_one_connection_serves_request_after_request(server: ThreadingHTTPServer) -> None:
    c = client(server.server_address[1])

    def work() -> list[str]:
        texts = [c.complete(ask(str(n))).text for n in range(10)]
        c.close()
        return texts

    assert on_loop(work) == [f"echo: {n}" for n in range(10)]
    assert server.connections == 1  # type: ignore[attr-defined]


def test_many_requests_at_once_each_get_their_own_answer(server: ThreadingHTTPServer) -> None:
    c = client(server.server_address[1])

    async def main() -> list[Result]:
        return await asyncio.gather(*(bridge.run(lambda n=n: c.complete(ask(f"q{n}"))) for n in range(32)))

    results = asyncio.run(main())
    assert [r.text for r in results] == [f"echo: q{n}" for n in range(32)]
    assert all(r.complete for r in results)
    assert server.connections <= 32  # type: ignore[attr-defined]


def test_a_connection_the_server_dropped_while_idle_is_not_used_again(server: ThreadingHTTPServer) -> None:
    server.mode = "drop"  # type: ignore[attr-defined]
    c = client(server.server_address[1])

    def work() -> list[str]:
        out = []
        for n in range(3):
            out.append(c.complete(ask(str(n))).text)
            time.sleep(0.05)  # the server's close arrives while the connection is idle (and the loop is busy)
        return out

    assert on_loop(work) == ["echo: 0", "echo: 1", "echo: 2"]
    assert server.connections == 3  # type: ignore[attr-defined]


def test_a_body_cut_short_is_a_truncated_answer(server: ThreadingHTTPServer) -> None:
    server.mode = "cut"  # type: ignore[attr-defined]
    c = client(server.server_address[1])
    with pytest.raises(TruncatedResponse):
        on_loop(lambda: c.complete(ask("x")))


def test_a_stalled_server_is_a_read_timeout(server: ThreadingHTTPServer) -> None:
    server.mode = "stall"  # type: ignore[attr-defined]
    c = client(server.server_address[1], read=0.3)
    start = time.monotonic()
    with pytest.raises(RelayTimeout):
        on_loop(lambda: c.complete(ask("x")))
    assert time.monotonic() - start < 0.9


def test_a_refused_connection_is_named_as_on_the_synchronous_path() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    c = client(port)
    with pytest.raises(NetworkError) as looped:
        on_loop(lambda: c.complete(ask("x")))
    prof = profile(base_url=f"http://127.0.0.1:{port}/v1", retries=0)
    with RelayClient(prof, ResolvedKey("k", "config"), quirks={}) as plain, pytest.raises(NetworkError) as direct:
        plain.complete(ask("x"))
    assert "refused" in looped.value.message
    assert looped.value.message == direct.value.message
    assert looped.value.exit_code == direct.value.exit_code == 7


def test_outside_a_loop_the_client_refuses_instead_of_blocking(server: ThreadingHTTPServer) -> None:
    c = client(server.server_address[1])
    with pytest.raises(RuntimeError, match="outside"):
        c.complete(ask("x"))
    assert server.connections == 0  # type: ignore[attr-defined]


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, Path]]:
    """The same server over TLS, with a certificate for 127.0.0.1 that nothing trusts unless told to."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.mode = "ok"  # type: ignore[attr-defined]
    srv.connections = 0  # type: ignore[attr-defined]
    srv.seen = []  # type: ignore[attr-defined]
    srv.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield srv, cert
    finally:
        srv.shutdown()
        srv.server_close()


def _tls_client(port: int, *, on_loop: bool) -> RelayClient:
    prof = profile(base_url=f"https://127.0.0.1:{port}/v1", retries=0)
    return RelayClient(prof, ResolvedKey("k", "config"), quirks={}, on_loop=on_loop)


def test_over_tls_the_certificate_is_checked_as_on_the_synchronous_path(
    tls_server: tuple[ThreadingHTTPServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, cert = tls_server
    port = srv.server_address[1]
    with pytest.raises(NetworkError) as looped:  # a certificate nothing trusts
        on_loop(lambda: _tls_client(port, on_loop=True).complete(ask("x")))
    with _tls_client(port, on_loop=False) as plain, pytest.raises(NetworkError) as direct:
        plain.complete(ask("x"))
    assert looped.value.message == direct.value.message
    assert "TLS" in looped.value.message or "certificate" in looped.value.message
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted now
    c = _tls_client(port, on_loop=True)

    def work() -> list[str]:
        return [c.complete(ask(str(n))).text for n in range(3)]

    assert on_loop(work) == ["echo: 0", "echo: 1", "echo: 2"]


class _Proxy(BaseHTTPRequestHandler):
    """A forward proxy that answers for the host itself, saying which URL it was asked for."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        payload = b"data: " + json.dumps(chunk(f"via proxy: {self.path}")).encode() + b"\n\n"
        payload += b"data: " + json.dumps(chunk(finish="stop")).encode() + b"\n\ndata: [DONE]\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_through_a_proxy_the_environment_names_requests_go_by_it() -> None:
    srv = _Server(("127.0.0.1", 0), _Proxy)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        prof = profile(base_url="http://relay.test/v1", retries=0)
        env = {"HTTP_PROXY": f"http://127.0.0.1:{srv.server_address[1]}"}
        c = RelayClient(prof, ResolvedKey("k", "config"), quirks={}, on_loop=True, env=env)
        result = on_loop(lambda: c.complete(ask("x")))
        assert result.text == "via proxy: http://relay.test/v1/chat/completions"
        assert result.complete
    finally:
        srv.shutdown()
        srv.server_close()
