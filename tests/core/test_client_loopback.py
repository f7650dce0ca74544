"""RelayClient against a real HTTP server on loopback: real sockets, real httpx timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from relaycli.config.profile import ResolvedKey, Timeouts
from relaycli.core.client import RelayClient
from relaycli.datatypes import ChatRequest, Message
from relaycli.errors import RelayTimeout, TruncatedResponse

from .support import chunk, profile

REQ = ChatRequest(model="gpt-test", messages=(Message("user", "hi"),))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "ok"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length))
        mode = self.server.mode  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("x-request-id", "loop-1")
        self.send_header("connection", "close")
        self.end_headers()
        if mode == "stall":
            time.sleep(0.6)
            return
        parts = [
            b": keep-alive\r\n\r\n",
            b"data: " + json.dumps(chunk("Hello, ")).encode() + b"\r",
            b"\n\r\ndata: " + json.dumps(chunk("w\u00f6rld \u2028!")).encode()[:20],
            json.dumps(chunk("w\u00f6rld \u2028!")).encode()[20:] + b"\n\n",
        ]
        if mode == "ok":
            parts.append(b"data: " + json.dumps(chunk(finish="stop")).encode() + b"\n\n")
            usage = {"choices": [], "usage": {"prompt_tokens": len(body["messages"]), "completion_tokens": 2}}
            parts.append(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
        for part in parts:
            self.wfile.write(part)
            self.wfile.flush()
            time.sleep(0.01)


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.mode = "ok"  # type: ignore[attr-defined]
    srv.daemon_threads = True
    srv.block_on_close = False
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def client(srv: ThreadingHTTPServer, **timeouts: float) -> RelayClient:
    port = srv.server_address[1]
    prof = profile(base_url=f"http://127.0.0.1:{port}/v1", retries=0, timeout=Timeouts(**timeouts))
    return RelayClient(prof, ResolvedKey("k", "config"), quirks={})


def test_real_stream(server: ThreadingHTTPServer) -> None:
    with client(server) as c:
        stream = c.stream(REQ)
        texts = [d.text for d in stream]
        res = stream.result()
    assert "".join(texts) == "Hello, w\u00f6rld \u2028!"
    assert res.complete and res.request_id == "loop-1" and res.usage.prompt_tokens == 1
    assert res.timing.ttft_ms is not None and res.timing.ttft_ms > 0


def test_real_truncation(server: ThreadingHTTPServer) -> None:
    server.mode = "cut"  # type: ignore[attr-defined]
    with client(server) as c:
        stream = c.stream(REQ)
        with pytest.raises(TruncatedResponse):
            list(stream)
    assert stream.result().text == "Hello, w\u00f6rld \u2028!"


def test_real_read_timeout(server: ThreadingHTTPServer) -> None:
    server.mode = "stall"  # type: ignore[attr-defined]
    with (
        client(server, connect=1, read=0.2, total=5) as c,
        pytest.raises(RelayTimeout, match="^read timeout"),
    ):
        c.complete(REQ)
