"""Errors that blame the right thing: a proxy that cannot be reached (named, not the endpoint), the local
relay not running, no suggestion of the very model that was asked for, and shortened details that end at a
word with their brackets closed."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest
import respx

from relaycli.config.profile import Profile, ResolvedKey, Timeouts
from relaycli.core.client import RelayClient
from relaycli.core.formats.common import clause
from relaycli.core.proxy import environment_proxy
from relaycli.datatypes import ChatRequest, Message
from relaycli.errors import APIError, NetworkError

from .support import Harness, profile

REQ = ChatRequest(model="m", messages=(Message("user", "hi"),))
REMOTE = "http://relay.example.com/v1"


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def _complete(prof: Profile, env: dict[str, str]) -> NetworkError:
    with (
        RelayClient(prof, ResolvedKey(None, "none"), quirks={}, sleep=lambda s: None, env=env) as client,
        pytest.raises(NetworkError) as info,
    ):
        client.complete(REQ)
    return info.value


def test_an_unreachable_proxy_is_named_not_the_endpoint() -> None:
    port = _refused_port()
    # the request really goes to the proxy: the guard in conftest fails any connect beyond loopback
    error = _complete(profile(base_url=REMOTE, retries=0), {"HTTP_PROXY": f"http://user:pw@127.0.0.1:{port}"})
    assert f"proxy 127.0.0.1:{port} (from HTTP_PROXY)" in error.message and "relay.example.com:80" in error.message
    assert "connection refused" in error.message and "is the server running" not in error.message
    assert "pw" not in error.message and error.hint is not None and "NO_PROXY" in error.hint


def test_a_proxy_that_refuses_the_tunnel_is_named() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        seen.append(conn.recv(65536))
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    error = _complete(
        profile(base_url="https://relay.example.com/v1", retries=0),
        {"https_proxy": f"127.0.0.1:{port}", "NO_PROXY": "example.org,.other.example.com"},
    )
    listener.close()
    assert seen and seen[0].startswith(b"CONNECT relay.example.com:443 ")
    assert f"the proxy 127.0.0.1:{port} (from HTTPS_PROXY) refused the request" in error.message


def test_no_proxy_and_schemes_follow_httpx() -> None:
    env = {"HTTPS_PROXY": "http://p:1", "ALL_PROXY": "http://all:2", "NO_PROXY": "internal.example, 10.0.0.1"}
    assert environment_proxy("https://api.example.com/v1", env).variable == "HTTPS_PROXY"  # type: ignore[union-attr]
    assert environment_proxy("http://api.example.com/v1", env).shown == "all:2"  # type: ignore[union-attr]
    assert environment_proxy("https://a.internal.example/v1", env) is None
    assert environment_proxy("https://internal.example/v1", env) is None
    assert environment_proxy("http://10.0.0.1/v1", env) is None
    assert environment_proxy("https://api.example.com", {**env, "no_proxy": "*"}) is None
    assert environment_proxy("https://api.example.com", {}) is None


def test_the_local_relay_not_running_says_how_to_start_it() -> None:
    port = _refused_port()
    for name in ("mock", "mock-anthropic"):
        prof = Profile(
            name=name, base_url=f"http://127.0.0.1:{port}/v1", needs_key=False, retries=0, timeout=Timeouts(connect=2)
        )
        error = _complete(prof, {})
        assert error.exit_code == 7 and "local relay is not running" in error.message
        assert error.hint is not None and f"relay mock-server --port {port}" in error.hint  # the port it needs
    other = _complete(profile(base_url=f"http://127.0.0.1:{port}/v1", retries=0), {})
    assert "is the server running?" in other.message and "mock-server" not in (other.hint or "")


def test_a_404_never_suggests_the_model_that_was_asked_for() -> None:
    router = respx.Router(base_url="https://relay.test/v1", assert_all_mocked=True)
    router.post("/chat/completions").mock(
        return_value=httpx.Response(
            404, json={"error": {"message": "The model `smollm2` does not exist", "type": "invalid_request_error"}}
        )
    )
    router.get("/models").mock(
        return_value=httpx.Response(
            200, json={"object": "list", "data": [{"id": "smollm2"}, {"id": "smollm2-360m"}, {"id": "gpt-4.1"}]}
        )
    )
    h = Harness(router.handler)
    with pytest.raises(APIError) as info:
        h.client.complete(ChatRequest(model="smollm2", messages=(Message("user", "hi"),)))
    assert "Did you mean: smollm2-360m?" in info.value.message
    with pytest.raises(APIError) as info:  # another case of the same name is a close match worth naming
        h.client.complete(ChatRequest(model="GPT-4.1", messages=(Message("user", "hi"),)))
    assert "Did you mean: gpt-4.1" in info.value.message


def test_a_shortened_detail_ends_at_a_word_with_its_brackets_closed() -> None:
    text = "peer closed connection without sending complete message body (incomplete chunked read)"
    assert clause(text, 200) == text
    short = clause(text, 80)
    assert len(short) <= 80 and short == "peer closed connection without sending complete message body (incomplete…)"
    assert clause("a [b (c d e f g h i j k l m n o p", 20).count("(") == clause("a [b (c d e f g h i j", 20).count(")")
    assert clause("word " * 40, 30).endswith("word…")
