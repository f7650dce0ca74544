"""RelayClient error mapping: statuses, bodies, networks and timeouts, each with a useful message."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable

import httpx
import pytest
import respx

from relaycli.config.profile import ResolvedKey, Timeouts
from relaycli.core.client import RelayClient
from relaycli.datatypes import ChatRequest, Message
from relaycli.errors import (
    APIError,
    AuthError,
    ConfigError,
    EndpointError,
    NetworkError,
    RelayTimeout,
)

from .support import OPENAI_URL, SECRET, Chunks, Harness, chunk, openai_stream, profile, sse, sse_response

REQ = ChatRequest(model="gpt-4.1-mini", messages=(Message("user", "hi"),))
MODELS = {"data": [{"id": "gpt-4.1"}, {"id": "gpt-4.1-mini-2025"}, {"id": "gpt-4o-mini"}, {"id": "claude-x"}]}


def routed(*responses: httpx.Response | Exception, **kw: object) -> tuple[Harness, respx.Router]:
    router = respx.Router(base_url=OPENAI_URL, assert_all_mocked=True)
    router.post("/chat/completions").mock(side_effect=list(responses))
    return Harness(router.handler, **kw), router  # type: ignore[arg-type]


def test_401_names_profile_host_and_key_source_but_never_the_key() -> None:
    body = {"error": {"message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error"}}
    h, router = routed(httpx.Response(401, json=body))
    with pytest.raises(AuthError) as info:
        h.client.complete(REQ)
    msg = str(info.value) + (info.value.hint or "")
    assert "holysheep" in msg and "relay.test" in msg and "env HOLYSHEEP_API_KEY" in msg
    assert "Incorrect API key provided" in msg
    assert SECRET not in msg and SECRET not in repr(info.value.args)
    assert info.value.exit_code == 4 and info.value.status == 401
    assert router.calls.call_count == 1  # never retried


def test_403_is_auth_error_too_and_anthropic_error_body_is_read() -> None:
    body = {"type": "error", "error": {"type": "permission_error", "message": "no access to this model"}}
    h, _ = routed(httpx.Response(403, json=body))
    with pytest.raises(AuthError, match="no access to this model"):
        h.client.complete(REQ)


def test_401_without_a_key_says_none_was_sent() -> None:
    h, _ = routed(httpx.Response(401, text="Unauthorized"), key=ResolvedKey(None, "no key configured"))
    with pytest.raises(AuthError, match="no key was sent"):
        h.client.complete(REQ)


def test_404_model_suggests_close_names() -> None:
    body = {"error": {"message": "The model `gpt-4.1-mini` does not exist", "code": "model_not_found"}}
    h, router = routed(httpx.Response(404, json=body))
    router.get("/models").mock(return_value=httpx.Response(200, json=MODELS))
    with pytest.raises(APIError) as info:
        h.client.complete(REQ)
    msg = str(info.value)
    assert type(info.value) is APIError and info.value.status == 404
    assert "Did you mean: " in msg
    suggested = msg.split("Did you mean: ", 1)[1].split("?", 1)[0].split(", ")
    assert sorted(suggested) == ["gpt-4.1", "gpt-4.1-mini-2025", "gpt-4o-mini"]
    assert "relay models -p holysheep" in msg


def test_404_model_when_listing_fails_still_reports_the_404() -> None:
    h, router = routed(httpx.Response(404, json={"error": {"message": "model not found"}}))
    router.get("/models").mock(side_effect=httpx.ConnectError("boom"))
    with pytest.raises(APIError) as info:
        h.client.complete(REQ)
    assert "Did you mean" not in str(info.value) and "relay models -p holysheep" in str(info.value)
    assert h.notices == []


def test_404_not_about_the_model_points_at_base_url() -> None:
    h, _ = routed(httpx.Response(404, text="404 page not found"))
    with pytest.raises(APIError) as info:
        h.client.complete(REQ)
    assert "404 page not found" in str(info.value) and "base_url" in (info.value.hint or "")


@pytest.mark.parametrize("status", [400, 413, 422])
def test_client_errors_are_api_errors_with_the_endpoint_message(status: int) -> None:
    h, router = routed(httpx.Response(status, json={"error": {"message": "temperature too high"}}))
    with pytest.raises(APIError, match="temperature too high") as info:
        h.client.complete(REQ)
    assert info.value.exit_code == 1 and info.value.status == status
    assert router.calls.call_count == 1


def test_fastapi_detail_body() -> None:
    h, _ = routed(httpx.Response(422, json={"detail": [{"loc": ["body", "model"], "msg": "field required"}]}))
    with pytest.raises(APIError, match="field required"):
        h.client.complete(REQ)


def test_html_page_with_200_is_an_endpoint_error_with_the_title() -> None:
    page = "<!DOCTYPE html><html><head><title>Sign in - Corp Wi-Fi</title></head><body>...</body></html>"
    h, router = routed(httpx.Response(200, text=page, headers={"content-type": "text/html; charset=utf-8"}))
    stream = h.client.stream(REQ)
    with pytest.raises(EndpointError) as info:
        list(stream)
    msg = str(info.value)
    assert "HTML page" in msg and "Sign in - Corp Wi-Fi" in msg and "proxy or login page" in msg
    assert "<html" not in msg and router.calls.call_count == 1
    assert stream.result().status == 200 and not stream.result().complete


def test_html_error_page_with_502_keeps_status_mapping_and_shows_excerpt() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    h, _ = routed(*[httpx.Response(502, text=page, headers={"content-type": "text/html"})] * 3)
    with pytest.raises(EndpointError) as info:
        h.client.complete(REQ)
    msg = str(info.value)
    assert info.value.status == 502 and "502 Bad Gateway" in msg and "<center>" not in msg


def test_plain_text_200_is_not_an_empty_answer() -> None:
    h, _ = routed(httpx.Response(200, text="hello from a misconfigured proxy", headers={"content-type": "text/plain"}))
    with pytest.raises(EndpointError, match="text/plain instead of an event stream"):
        h.client.complete(REQ)


def test_redirect_is_not_followed() -> None:
    h, router = routed(httpx.Response(301, headers={"location": "https://elsewhere.test/v1/chat/completions"}))
    with pytest.raises(EndpointError, match="elsewhere.test") as info:
        h.client.complete(REQ)
    assert "redirect" in str(info.value) and router.calls.call_count == 1


def test_dns_failure() -> None:
    exc = httpx.ConnectError("[Errno -2] Name or service not known")
    h, router = routed(exc, exc, exc)
    with pytest.raises(NetworkError, match="cannot resolve host relay.test") as info:
        h.client.complete(REQ)
    assert info.value.exit_code == 7 and router.calls.call_count == 1


def raising(exc: Exception) -> Harness:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return Harness(handler)


def test_dns_failure_recognised_from_gaierror_cause() -> None:
    exc = httpx.ConnectError("connect failed")
    exc.__cause__ = socket.gaierror(-3, "Try again")
    with pytest.raises(NetworkError, match="cannot resolve host"):
        raising(exc).client.complete(REQ)


def test_tls_failure() -> None:
    exc = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    exc.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    with pytest.raises(NetworkError, match="TLS error talking to relay.test:443"):
        raising(exc).client.complete(REQ)


def test_refused_on_a_real_loopback_port() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    prof = profile(base_url=f"http://127.0.0.1:{port}/v1", retries=0)
    with RelayClient(prof, ResolvedKey(None, "none")) as client, pytest.raises(NetworkError) as info:
        client.complete(REQ)
    assert f"127.0.0.1:{port}" in str(info.value) and "is the server running?" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_bad_scheme_is_a_config_error() -> None:
    prof = profile(base_url="ftp://relay.test/v1")
    with RelayClient(prof, ResolvedKey("k", "x")) as client, pytest.raises(ConfigError, match="https://"):
        client.complete(REQ)


def test_connect_timeout_message_names_limit_seconds_profile_and_setting() -> None:
    h, router = routed(*[httpx.ConnectTimeout("timed out")] * 3)
    with pytest.raises(RelayTimeout) as info:
        h.client.complete(REQ)
    msg = str(info.value)
    assert msg.startswith("connect timeout") and "5 s" in msg and "holysheep" in msg
    assert "timeout = { connect = 5, read = 60, total = 600 }" in msg
    assert info.value.exit_code == 6 and router.calls.call_count == 3


def test_non_streaming_read_timeout_is_never_retried() -> None:
    h, router = routed(httpx.ReadTimeout("read timed out"), httpx.Response(200, json={}))
    req = ChatRequest(model="m", messages=(Message("user", "x"),), stream=False)
    with pytest.raises(RelayTimeout, match="read timeout"):
        h.client.complete(req)
    assert router.calls.call_count == 1


def test_content_idle_timeout_with_keep_alive_comments() -> None:
    h: Harness

    def handler(request: httpx.Request) -> httpx.Response:
        parts: list[bytes | float] = [sse(chunk("started"))]
        for _ in range(10):
            parts += [20.0, b": OPENROUTER PROCESSING\n\n"]
        parts.append(openai_stream("never"))
        return sse_response(Chunks(parts, h.clock))

    h = Harness(handler, prof=profile(timeout=Timeouts(connect=5, read=60, total=600)))
    stream = h.client.stream(REQ)
    with pytest.raises(RelayTimeout) as info:
        list(stream)
    msg = str(info.value)
    assert msg.startswith("content-idle timeout") and "60 s" in msg and "holysheep" in msg
    assert "timeout = {" in msg
    res = stream.result()
    assert res.text == "started" and not res.complete
    # the third keep-alive (60 s after the last content) trips it
    t = res.timing
    assert t.t_end is not None and t.t_first_token is not None
    assert (t.t_end - t.t_first_token) / 1e9 == pytest.approx(60.0)


def test_content_idle_counts_anthropic_pings_as_no_content() -> None:
    h: Harness
    ping = b'event: ping\ndata: {"type": "ping"}\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        parts: list[bytes | float] = []
        for _ in range(10):
            parts += [4.0, ping]
        return sse_response(Chunks(parts, h.clock))

    prof = profile("anthropic", retries=0, timeout=Timeouts(connect=5, read=10, total=600))
    h = Harness(handler, prof=prof)
    with pytest.raises(RelayTimeout, match="content-idle timeout.*10 s"):
        h.client.complete(ChatRequest(model="claude-test", messages=(Message("user", "x"),)))


def test_total_deadline_during_a_stream() -> None:
    h: Harness

    def handler(request: httpx.Request) -> httpx.Response:
        parts: list[bytes | float] = []
        for i in range(20):
            parts += [5.0, sse(chunk(f"{i} "))]
        return sse_response(Chunks(parts, h.clock))

    h = Harness(handler, prof=profile(timeout=Timeouts(connect=5, read=60, total=30)))
    stream = h.client.stream(REQ)
    with pytest.raises(RelayTimeout, match="total timeout.*30 s"):
        list(stream)
    assert stream.result().text == "0 1 2 3 4 5 "


def test_total_deadline_bounds_retries() -> None:
    h, router = routed(*[httpx.Response(503)] * 3, prof=profile(timeout=Timeouts(connect=5, read=60, total=1.0)))
    with pytest.raises(EndpointError):
        h.client.complete(REQ)
    # the first backoff (0.5 s) fits in the 1 s deadline, the second (1 s) does not
    assert h.sleep.waits == [0.5] and router.calls.call_count == 2


def test_read_timeout_capped_by_total_deadline_is_reported_as_total() -> None:
    h, _ = routed(httpx.ReadTimeout("timed out"), prof=profile(retries=0, timeout=Timeouts(5, 60, 30)))
    with pytest.raises(RelayTimeout, match="^total timeout"):
        h.client.complete(REQ)


def test_streaming_read_timeout_before_content_is_retried() -> None:
    h, router = routed(httpx.ReadTimeout("timed out"), sse_response(openai_stream("ok")))
    assert h.client.complete(REQ).text == "ok"
    assert router.calls.call_count == 2 and h.notices[0].reason == "read timeout"


def test_per_attempt_timeouts_come_from_the_profile() -> None:
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return sse_response(openai_stream("x"))

    h = Harness(handler, prof=profile(timeout=Timeouts(connect=3, read=45, total=600)))
    h.client.complete(REQ)
    assert seen == [{"connect": 3, "read": 45, "write": 45, "pool": 3}]


SCENARIOS: dict[str, Callable[[], httpx.Response | Exception]] = {
    "401 echoing the key": lambda: httpx.Response(401, text=f"bad key {SECRET}"),
    "403 json": lambda: httpx.Response(403, json={"error": {"message": f"key {SECRET} lacks scope"}}),
    "400": lambda: httpx.Response(400, json={"error": {"message": f"header was Bearer {SECRET}"}}),
    "500": lambda: httpx.Response(500, text=SECRET),
    "html": lambda: httpx.Response(200, text=f"<title>{SECRET}</title>", headers={"content-type": "text/html"}),
    "stream error": lambda: sse_response(sse({"error": {"message": f"auth {SECRET}"}})),
    "connect": lambda: httpx.ConnectError("refused"),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_key_never_appears_in_an_error(name: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        made = SCENARIOS[name]()
        if isinstance(made, Exception):
            raise made
        return made

    h = Harness(handler, prof=profile(retries=0))
    with pytest.raises(Exception) as info:
        h.client.complete(REQ)
    err = info.value
    text = " ".join([str(err), repr(err), str(getattr(err, "hint", ""))])
    assert SECRET not in text, name


def test_empty_200_stream_is_retried_then_truncated() -> None:
    h, router = routed(*[sse_response(b": keep-alive\n\n")] * 3)
    with pytest.raises(EndpointError, match="with no content") as info:
        h.client.complete(REQ)
    assert type(info.value).__name__ == "TruncatedResponse" and router.calls.call_count == 3


def test_idle_before_any_content_is_retried() -> None:
    h: Harness
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return sse_response(Chunks([30.0, b": ping\n\n", 31.0, b": ping\n\n", openai_stream("late")], h.clock))
        return sse_response(openai_stream("fresh"))

    h = Harness(handler)
    res = h.client.complete(REQ)
    assert res.text == "fresh" and res.retries == 1 and "content-idle" in h.notices[0].reason
