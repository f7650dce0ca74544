"""Clients that send too much, send garbage, or hold connections open without finishing a request: each gets
its answer (413, 400) in the path's protocol, and none of them keeps another client from being answered."""

from __future__ import annotations

import json
import select
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from .conftest import Gateway
from .gateway import ALICE_KEY

TEN_MB = 10 * 1000**2
BODY = json.dumps({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "limits"}]})


def _address(gateway: Gateway) -> tuple[str, int]:
    parts = urlsplit(gateway.serve.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _head(path: str, *lines: str) -> bytes:
    return "\r\n".join(
        [f"POST {path} HTTP/1.1", "Host: relay", f"Authorization: Bearer {ALICE_KEY}", *lines, "", ""]
    ).encode()


def _response(sock: socket.socket, timeout: float = 5.0) -> tuple[int, dict[str, object]]:
    """Status and JSON body of the response on ``sock`` (read until the body is whole)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return int(head.split(b" ", 2)[1]), json.loads(rest[:length])


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_declared_10mb_body_gets_413_before_it_is_sent(gateway: Gateway, path: str) -> None:
    with socket.create_connection(_address(gateway)) as sock:
        sock.sendall(_head(path, "Content-Type: application/json", f"Content-Length: {TEN_MB}") + b'{"model":')
        status, doc = _response(sock)
    assert status == 413
    message = doc["error"]["message"]  # type: ignore[index]
    assert "larger than 4,000,000 bytes" in message
    assert (doc.get("type") == "error") == (path == "/v1/messages")


def test_a_10mb_body_sent_whole_gets_413(gateway: Gateway) -> None:
    big = '{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"' + "x" * TEN_MB + '"}]}'
    try:
        got = httpx.post(
            gateway.serve.url + "/v1/chat/completions",
            content=big.encode(),
            headers={"Authorization": f"Bearer {ALICE_KEY}", "Content-Type": "application/json"},
            timeout=10,
        )
    except httpx.WriteError:  # the server answered and closed before the body was all sent: fine
        return
    assert got.status_code == 413


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_chunked_body_past_the_limit_gets_413(gateway: Gateway, path: str) -> None:
    piece = b"x" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with socket.create_connection(_address(gateway)) as sock:
        sock.sendall(_head(path, "Content-Type: application/json", "Transfer-Encoding: chunked"))
        sent = 0
        while sent < TEN_MB:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable:
                break  # the answer came before all of it was sent
            assert writable, "the server neither reads nor answers"
            sock.sendall(chunk)
            sent += len(piece)
        status, doc = _response(sock)
    assert status == 413
    assert 4_000_000 <= sent < TEN_MB  # refused as soon as it passed the limit, not after all of it
    assert "larger than" in doc["error"]["message"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", b"this is not json"),
        ("/v1/messages", b'{"model": '),
        ("/v1/messages/count_tokens", b"\xff\xfe"),
    ],
)
def test_a_body_that_is_not_json_gets_400(gateway: Gateway, path: str, body: bytes) -> None:
    got = httpx.post(
        gateway.serve.url + path,
        content=body,
        headers={"Authorization": f"Bearer {ALICE_KEY}", "Content-Type": "application/json"},
    )
    assert got.status_code == 400
    doc = got.json()
    assert doc["error"]["message"] == "the request body is not JSON"
    assert (doc.get("type") == "error") == path.startswith("/v1/messages")


def test_idle_and_half_sent_connections_do_not_stop_another_client(gateway: Gateway) -> None:
    address = _address(gateway)
    held: list[socket.socket] = []
    try:
        for i in range(200):
            sock = socket.create_connection(address)
            held.append(sock)
            if i % 3 == 1:  # half a head
                sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: relay\r\nContent-Le")
            elif i % 3 == 2:  # the head, then half the body it announced
                sock.sendall(_head("/v1/chat/completions", f"Content-Length: {len(BODY)}") + BODY[:20].encode())
        time.sleep(0.05)
        started = time.monotonic()
        got = httpx.post(
            gateway.serve.url + "/v1/chat/completions",
            content=BODY.replace("limits", "limits under siege").encode(),
            headers={"Authorization": f"Bearer {ALICE_KEY}", "X-Relay-Cache": "off"},
            timeout=5,
        )
        took = time.monotonic() - started
        assert got.status_code == 200, got.text
        assert got.json()["choices"][0]["finish_reason"] == "stop"
        assert took < 1.0
    finally:
        for sock in held:
            sock.close()
    assert httpx.get(gateway.serve.url + "/health").status_code == 200
