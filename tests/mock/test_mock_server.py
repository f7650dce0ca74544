"""The local relay as a server: lifecycle, HTTP/1.1 framing and keep-alive, the JSON-lines log,
concurrency, throughput and the foreground ``serve``."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as srv:
        yield srv


def raw_exchange(server: MockServer, payload: bytes, *, until: bytes = b"", timeout: float = 2.0) -> bytes:
    """Send raw bytes, read until ``until`` appears (or the server closes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        while not (until and until in received):
            part = sock.recv(65536)
            if not part:
                break
            received += part
        return received


def test_urls_and_lifecycle() -> None:
    srv = MockServer()
    srv.start()
    try:
        assert srv.running and srv.port > 0
        assert srv.url == f"http://127.0.0.1:{srv.port}"
        assert srv.openai_base_url == srv.url + "/v1"
        assert httpx.get(srv.url + "/health").status_code == 200
        with pytest.raises(RuntimeError):
            srv.start()
    finally:
        srv.stop()
    assert not srv.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/health")
    srv.stop()  # idempotent


def test_port_in_use_raises(server: MockServer) -> None:
    with pytest.raises(OSError):
        MockServer(port=server.port).start()


def test_keep_alive_reuses_one_connection(server: MockServer) -> None:
    with httpx.Client(base_url=server.url) as c:
        for i in range(10):
            c.post(CHAT, json={**BODY, "stream": i % 2 == 0}).read()
        c.get("/v1/models")
    assert server.connections == 1
    assert len(server.log) == 11


def test_raw_pipelined_requests_and_connection_close(server: MockServer) -> None:
    body = json.dumps(BODY).encode()
    one = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    last = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    received = raw_exchange(server, one + one + last)
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert received.endswith(b'{"status":"ok"}')  # and then the server closed
    assert b"connection: close" in received


def test_raw_chunked_request_and_expect_continue(server: MockServer) -> None:
    body = json.dumps(BODY).encode()
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
    received = raw_exchange(server, head + chunked)
    assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert b"Mock answer to 1 messages:" in received


def test_raw_http10_closes(server: MockServer) -> None:
    received = raw_exchange(server, b"GET /health HTTP/1.0\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in received


@pytest.mark.parametrize(
    "payload",
    [b"NONSENSE\r\n\r\n", b"GET / HTTP/2\r\n\r\n", b"POST /v1/messages HTTP/1.1\r\nContent-Length: x\r\n\r\n"],
)
def test_raw_garbage_gets_400(server: MockServer, payload: bytes) -> None:
    received = raw_exchange(server, payload)
    assert received.startswith(b"HTTP/1.1 400 ")


def test_stream_framing_is_chunked(server: MockServer) -> None:
    body = json.dumps({**BODY, "stream": True}).encode()
    payload = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    received = raw_exchange(server, payload, until=b"\r\n0\r\n\r\n")
    head, _, rest = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head and b"content-length" not in head
    assert rest.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")


def test_log_records_and_json_lines(tmp_path: Path) -> None:
    log_path = tmp_path / "mock.jsonl"
    with MockServer(log_path=log_path) as srv, httpx.Client(base_url=srv.url) as c:
        c.post(CHAT, json=BODY, headers={"X-Mock": "words=4"})
        c.post(CHAT, json={**BODY, "model": "nope"})
        c.post(CHAT, json={**BODY, "stream": True}, headers={"X-Mock": "fail=503"})
        records = srv.wait_for_log(3)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [r["status"] for r in lines] == [200, 404, 503]
    assert [r.outcome for r in records] == ["ok", "rejected", "failed"]
    first = lines[0]
    assert first["path"] == CHAT and first["model"] == "gpt-4.1" and first["tokens"] == 4
    assert first["directives"] == "words=4" and first["protocol"] == "openai" and first["stream"] is False
    assert first["t_received_ns"] <= first["t_first_token_ns"] <= first["t_last_token_ns"] <= first["t_end_ns"]
    assert lines[1]["model"] == "nope" and lines[1]["t_first_token_ns"] is None
    assert len({r["request_id"] for r in lines}) == 3


def test_concurrent_streams_are_not_serialised(server: MockServer) -> None:
    results: list[float] = []

    def one() -> None:
        with httpx.Client(base_url=server.url) as c:
            text = c.post(CHAT, json={**BODY, "stream": True}, headers={"X-Mock": "words=5 token_delay=0.05"}).text
            results.append(text.count("data: "))

    start = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - start < 1.0  # 16 x 0.2 s would be 3.2 s if serialised
    assert results == [8] * 16  # role chunk, 5 tokens, finish chunk, [DONE]


def test_stop_closes_stalled_connections() -> None:
    srv = MockServer().start()
    errors: list[BaseException] = []

    def stalled() -> None:
        try:
            httpx.post(srv.url + CHAT, json={**BODY, "stream": True}, headers={"X-Mock": "stall_after=1"}, timeout=5)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=stalled)
    thread.start()
    time.sleep(0.1)
    start = time.perf_counter()
    srv.stop()
    thread.join(2)
    assert time.perf_counter() - start < 1 and not thread.is_alive() and errors


def test_throughput_sequential_keep_alive(server: MockServer) -> None:
    """Request after request on one connection, none stalled: a write split in two pieces would meet the
    peer's delayed ACK (Nagle's algorithm), 40 ms a request; the median is held well under that, with room
    for a machine busy with the rest of the suite."""
    took: list[float] = []
    with httpx.Client(base_url=server.url) as c:
        c.get("/health")
        for i in range(300):
            start = time.perf_counter()
            response = c.post(CHAT, json={**BODY, "stream": i % 2 == 1})
            took.append(time.perf_counter() - start)
            assert response.status_code == 200
    median = sorted(took)[len(took) // 2]
    assert median < 0.02, f"the median request took {median * 1000:.1f} ms"
    assert server.connections == 1


def test_mock_imports_only_the_standard_library() -> None:
    code = (
        "import sys, relaycli.mock.server; "
        "bad = [m for m in ('httpx', 'rich', 'typer', 'httpcore') if m in sys.modules]; "
        "print(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "[]", done.stderr


SERVE = """
import sys
from relaycli.mock.options import MockOptions
from relaycli.mock.server import serve
try:
    serve("127.0.0.1", 0, MockOptions(words=3), ready=lambda url: print(url, flush=True))
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_serve_runs_until_ctrl_c() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        doc = httpx.post(url + CHAT, json=BODY).json()
        assert doc["usage"]["completion_tokens"] == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert out.strip() == "interrupted" and err == ""


def test_options_with_directives_drive_a_server() -> None:
    opts = MockOptions().with_directives("words=2,no_usage")
    with MockServer(options=opts) as srv:
        doc = httpx.post(srv.openai_base_url + "/chat/completions", json=BODY).json()
    assert doc["choices"][0]["message"]["content"] == "Mock answer"
