"""The lean HTTP/1.1 layer: origins, request bytes, and the incremental response reader in any split."""

from __future__ import annotations

import pytest

from relaycli.config.profile import Profile
from relaycli.errors import ConfigError
from relaycli.measure.http1 import ProtocolError, ResponseReader, api_path, encode_request, parse_origin

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
    b"X-Request-Id: r1\r\n\r\n"
    b"d\r\ndata: hello\n\n\r\nf;ext=1\r\ndata: world!!\n\n\r\n0\r\nTrailer: x\r\n\r\n"
)
BODY = b"data: hello\n\ndata: world!!\n\n"


def feed_all(reader: ResponseReader, data: bytes, step: int) -> bytes:
    out = b""
    for i in range(0, len(data), step):
        out += reader.feed(data[i : i + step])
    return out


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 16, 1000])
def test_chunked_body_in_any_split(step: int) -> None:
    reader = ResponseReader()
    assert feed_all(reader, CHUNKED, step) == BODY
    assert reader.done and reader.status == 200 and reader.keep_alive
    assert reader.headers["x-request-id"] == "r1" and reader.headers["content-type"] == "text/event-stream"


def test_content_length_and_what_follows_is_ignored() -> None:
    reader = ResponseReader()
    head = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"
    assert reader.feed(head + b"hel") == b"hel"
    assert not reader.done
    assert reader.feed(b"loEXTRA") == b"lo" and reader.done and not reader.keep_alive
    assert reader.status == 401 and reader.reason == "Unauthorized"


def test_body_until_close() -> None:
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.0 200 OK\r\n\r\nabc") == b"abc"
    assert not reader.done and not reader.keep_alive
    reader.eof()
    assert reader.done


def test_interim_response_is_skipped_and_204_has_no_body() -> None:
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n") == b""
    assert reader.status == 204 and reader.done


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_garbage_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseReader().feed(data)


def test_eof_before_the_end_is_a_protocol_error() -> None:
    reader = ResponseReader()
    reader.feed(CHUNKED[:110])
    with pytest.raises(ProtocolError, match="before the response ended"):
        reader.eof()
    with pytest.raises(ProtocolError, match="before a response"):
        ResponseReader().eof()


def test_origins_paths_and_request_bytes() -> None:
    origin = parse_origin("https://relay.example.com/v1/")
    assert (origin.scheme, origin.host, origin.port, origin.base_path, origin.tls) == (
        "https",
        "relay.example.com",
        443,
        "/v1",
        True,
    )
    assert origin.host_header == "relay.example.com" and str(origin) == "relay.example.com:443"
    v6 = parse_origin("http://[::1]:8080")
    assert v6.host_header == "[::1]:8080" and str(v6) == "[::1]:8080"
    with pytest.raises(ConfigError):
        parse_origin("ftp://x")
    openai = Profile(name="o", base_url="http://h:1/v1")
    anthropic = Profile(name="a", base_url="https://api.anthropic.com", protocol="anthropic")
    assert api_path(openai, "chat") == "/v1/chat/completions" and api_path(openai, "models") == "/v1/models"
    assert api_path(anthropic, "chat") == "/v1/messages" and api_path(anthropic, "models") == "/v1/models"
    raw = encode_request("POST", parse_origin("http://h:1/v1"), "/v1/x", {"A": "b"}, b"{}")
    assert raw == b"POST /v1/x HTTP/1.1\r\nHost: h:1\r\nA: b\r\nContent-Length: 2\r\n\r\n{}"
