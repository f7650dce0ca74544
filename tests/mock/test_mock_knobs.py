"""Every behaviour knob of the local relay, in both protocols, set per request (X-Mock header or a
``[[mock: ...]]`` prompt directive) or for the whole server; and the ground-truth log's timestamps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer

OPENAI = ("/v1/chat/completions", {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
ANTHROPIC = (
    "/v1/messages",
    {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]},
)
PROTOCOLS = pytest.mark.parametrize("proto", [OPENAI, ANTHROPIC], ids=["openai", "anthropic"])
Proto = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh_log(server: MockServer) -> None:
    server.reset()


@pytest.fixture(scope="module")
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5, headers={"anthropic-version": "2023-06-01"}) as c:
        yield c


def with_prompt(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {**body, "messages": [{"role": "user", "content": text}]}


def post_stream(client: httpx.Client, proto: Proto, mock: str = "", **extra: Any) -> tuple[httpx.Response, str]:
    path, body = proto
    headers = {"X-Mock": mock} if mock else {}
    with client.stream("POST", path, json={**body, "stream": True, **extra}, headers=headers) as response:
        return response, response.read().decode()


def texts(raw: str) -> list[str]:
    """Content tokens of either protocol's stream."""
    out = []
    for line in raw.split("\n"):
        if not line.startswith("data: {"):
            continue
        try:
            data = json.loads(line[6:])
        except ValueError:
            continue
        if data.get("type") == "content_block_delta":
            out.append(data["delta"]["text"])
        elif data.get("choices") and "content" in data["choices"][0].get("delta", {}):
            out.append(data["choices"][0]["delta"]["content"])
    return [t for t in out if t]


def finished(raw: str) -> bool:
    return "data: [DONE]" in raw or "event: message_stop" in raw


# ------------------------------------------------------------------------------------- stream knobs


@PROTOCOLS
def test_stop_after_closes_abruptly(client: httpx.Client, server: MockServer, proto: Proto) -> None:
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", proto[0], json={**proto[1], "stream": True}, headers={"X-Mock": "stop_after=5"}) as r,
    ):
        for part in r.iter_raw():
            received += part
    raw = received.decode()
    assert len(texts(raw)) == 5 and not finished(raw)
    assert '"finish_reason":"' not in raw and "message_delta" not in raw
    (rec,) = server.wait_for_log(1)
    assert rec.outcome == "stopped" and rec.tokens == 5 and rec.directives == "stop_after=5"


@PROTOCOLS
def test_malformed_after(client: httpx.Client, proto: Proto) -> None:
    _, raw = post_stream(client, proto, "malformed_after=3")
    before_bad: list[str] = []
    bad = []
    for line in raw.split("\n"):
        if line.startswith("data: ") and line != "data: [DONE]":
            try:
                json.loads(line[6:])
            except ValueError:
                bad.append(line)
            if not bad:
                before_bad.append(line)
    assert len(bad) == 1
    assert len(texts("\n".join(before_bad))) == 3
    assert len(texts(raw)) == 40 and finished(raw)  # the stream carries on after the bad event


@PROTOCOLS
def test_error_after(client: httpx.Client, server: MockServer, proto: Proto) -> None:
    response, raw = post_stream(client, proto, "error_after=4")
    assert response.status_code == 200 and len(texts(raw)) == 4 and not finished(raw)
    last = raw.strip().split("\n\n")[-1]
    if proto is OPENAI:
        error = json.loads(last[len("data: ") :])["error"]
        assert error["message"] and error["type"] == "server_error"
    else:
        assert last.startswith("event: error\n") and "overloaded_error" in last
    assert server.wait_for_log(1)[0].outcome == "error_event"
    # The body ended properly, so the connection is reused.
    connections = server.connections
    assert client.get("/health").status_code == 200 and server.connections == connections


def test_error_after_zero_comes_before_any_content(client: httpx.Client) -> None:
    _, raw = post_stream(client, OPENAI, "error_after=0")
    assert texts(raw) == [] and '"error"' in raw


@PROTOCOLS
def test_stall_after_with_keepalive_pings(client: httpx.Client, server: MockServer, proto: Proto) -> None:
    received = ""
    start = time.monotonic()
    with client.stream(
        "POST", proto[0], json={**proto[1], "stream": True}, headers={"X-Mock": "stall_after=2,keepalive=0.03"}
    ) as r:
        for part in r.iter_text():
            received += part
            if received.count("ping") >= 4:
                break
    assert time.monotonic() - start < 1
    assert len(texts(received)) == 2 and not finished(received)
    (rec,) = server.wait_for_log(1)
    assert rec.outcome == "stalled" and rec.tokens == 2


def test_stall_after_sends_nothing(client: httpx.Client, server: MockServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post(OPENAI[0], json={**OPENAI[1], "stream": True}, headers={"X-Mock": "stall_after=1"}, timeout=0.2)
    assert server.wait_for_log(1)[0].outcome == "stalled"


def test_stall_non_streaming_never_answers(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.post(OPENAI[0], json=OPENAI[1], headers={"X-Mock": "stall_after=0"}, timeout=0.2)


@PROTOCOLS
def test_keepalive_while_waiting_for_the_first_token(client: httpx.Client, proto: Proto) -> None:
    _, raw = post_stream(client, proto, "ttft=0.2 keepalive=0.04 words=3")
    first_token = raw.index("Mock")
    pings = raw[:first_token].count(": ping\n\n") + raw[:first_token].count("event: ping\n")
    assert pings >= 4 + (1 if proto is ANTHROPIC else 0)  # Anthropic also sends its usual ping
    assert finished(raw)


# ------------------------------------------------------------------------------------ failure knobs


@PROTOCOLS
def test_fail_with_retry_after(client: httpx.Client, proto: Proto) -> None:
    response = client.post(proto[0], json=proto[1], headers={"X-Mock": "fail=429,retry_after=2,retry_after_ms=1500"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2" and response.headers["retry-after-ms"] == "1500"
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert (doc["error"]["code"] == "rate_limit_exceeded") if proto is OPENAI else doc["type"] == "error"


@pytest.mark.parametrize("status", [401, 500, 503])
def test_openai_fail_statuses(client: httpx.Client, status: int) -> None:
    response = client.post(OPENAI[0], json=OPENAI[1], headers={"X-Mock": f"fail={status} should_retry=false"})
    assert response.status_code == status and response.json()["error"]["message"]
    assert response.headers["x-should-retry"] == "false"


def test_fail_times_counts_per_directive_string(client: httpx.Client) -> None:
    def status(mock: str, proto: Proto = OPENAI) -> int:
        return client.post(proto[0], json=proto[1], headers={"X-Mock": mock}).status_code

    assert [status("fail=503,fail_times=2") for _ in range(4)] == [503, 503, 200, 200]
    # The same directives spelled differently share the counter; other directives get their own.
    assert status("fail_times=2 fail=503") == 200
    assert [status("fail=503,fail_times=2,seed=1") for _ in range(3)] == [503, 503, 200]
    with MockServer(options=MockOptions(fail=500, fail_times=1)) as srv, httpx.Client(base_url=srv.url) as c:
        statuses = [c.post(OPENAI[0], json=OPENAI[1]).status_code for _ in range(3)]
        assert c.post(OPENAI[0], json=OPENAI[1], headers={"X-Mock": "words=2"}).status_code == 500
        srv.reset()
        assert c.post(OPENAI[0], json=OPENAI[1]).status_code == 500
    assert statuses == [500, 200, 200]


def test_fail_times_with_prompt_directive(client: httpx.Client) -> None:
    body = with_prompt(ANTHROPIC[1], "[[mock: fail=529 fail_times=1]] hello")
    assert [client.post(ANTHROPIC[0], json=body).status_code for _ in range(2)] == [529, 200]


@pytest.mark.parametrize(("mock", "status"), [("html", 502), ("html fail=503", 503), ("html fail=200", 200)])
def test_html_pages(client: httpx.Client, mock: str, status: int) -> None:
    response, raw = post_stream(client, OPENAI, mock)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert raw.lstrip().lower().startswith("<!doctype html>") and "<title>" in raw


# ------------------------------------------------------------------------- directive precedence


def test_header_and_prompt_directives_override_server_options() -> None:
    with MockServer(options=MockOptions(words=10)) as srv, httpx.Client(base_url=srv.url) as c:

        def words(body: dict[str, Any], mock: str = "") -> int:
            headers = {"X-Mock": mock} if mock else {}
            return int(c.post(OPENAI[0], json=body, headers=headers).json()["usage"]["completion_tokens"])

        assert words(OPENAI[1]) == 10
        assert words(OPENAI[1], "words=7") == 7
        assert words(with_prompt(OPENAI[1], "[[mock: words=3]] hi")) == 3
        assert words(with_prompt(OPENAI[1], "[[mock: words=3]] hi"), "words=7") == 3  # prompt wins
        body = {**OPENAI[1], "messages": [{"role": "user", "content": "[[mock: words=2]]"}, *OPENAI[1]["messages"]]}
        assert words(body) == 10  # only the last user message counts
        srv.options = MockOptions(words=4)
        assert words(OPENAI[1]) == 4
        assert srv.log[1].directives == "words=7"


def test_invalid_directive_is_a_400(client: httpx.Client) -> None:
    response = client.post(OPENAI[0], json=OPENAI[1], headers={"X-Mock": "explode=1"})
    assert response.status_code == 400 and "explode" in response.json()["error"]["message"]
    response = client.post(ANTHROPIC[0], json=with_prompt(ANTHROPIC[1], "[[mock: words=lots]] hi"))
    assert response.status_code == 400 and "words" in response.json()["error"]["message"]


def test_models_endpoint_honours_fail(client: httpx.Client) -> None:
    assert client.get("/v1/models", headers={"X-Mock": "fail=500"}).status_code == 500


# ------------------------------------------------------------------------------------ timing


@PROTOCOLS
def test_ttft_in_log_and_headers_first(client: httpx.Client, server: MockServer, proto: Proto) -> None:
    start = time.perf_counter()
    with client.stream(
        "POST", proto[0], json={**proto[1], "stream": True}, headers={"X-Mock": "ttft=0.1 words=3"}
    ) as r:
        headers_at = time.perf_counter() - start
        r.read()
    assert headers_at < 0.08  # headers went out before the wait
    (rec,) = server.wait_for_log(1)
    assert rec.t_first_token_ns is not None and rec.t_last_token_ns is not None
    assert rec.t_first_token_ns - rec.t_received_ns >= 100_000_000
    assert rec.t_first_token_ns - rec.t_received_ns < 150_000_000
    assert rec.t_received_ns <= rec.t_first_token_ns <= rec.t_last_token_ns <= rec.t_end_ns
    assert rec.tokens == 3 and rec.stream and rec.status == 200 and rec.outcome == "ok"


def test_token_delay_is_paced_without_drift(client: httpx.Client, server: MockServer) -> None:
    arrivals: list[float] = []
    with client.stream(
        "POST", OPENAI[0], json={**OPENAI[1], "stream": True}, headers={"X-Mock": "ttft=0.05 token_delay=0.02 words=11"}
    ) as r:
        for line in r.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                arrivals.append(time.perf_counter())
    assert len(arrivals) == 11
    gaps = sorted(b - a for a, b in zip(arrivals, arrivals[1:], strict=False))
    assert gaps[len(gaps) // 2] > 0.01  # paced (a token sent late is followed by a short catch-up gap)
    (rec,) = server.wait_for_log(1)
    assert rec.t_first_token_ns is not None and rec.t_last_token_ns is not None
    span = (rec.t_last_token_ns - rec.t_first_token_ns) / 1e9
    # token k at t0 + ttft + k * delay: 10 gaps of 20 ms; a late token does not push the later ones (no drift),
    # so only one stall of a busy machine can add to the span
    assert 0.15 <= span < 0.3  # a first token sent late shortens it: the later ones keep their schedule
    assert 0.25 <= (rec.t_last_token_ns - rec.t_received_ns) / 1e9 < 0.35


def test_non_streaming_delay(client: httpx.Client, server: MockServer) -> None:
    start = time.perf_counter()
    client.post(OPENAI[0], json=OPENAI[1], headers={"X-Mock": "ttft=0.05 token_delay=0.01 words=6"})
    assert time.perf_counter() - start >= 0.1
    (rec,) = server.wait_for_log(1)
    assert rec.t_first_token_ns is not None and rec.t_first_token_ns - rec.t_received_ns >= 100_000_000


def test_client_disconnect_mid_stream_is_quiet(server: MockServer, capfd: pytest.CaptureFixture[str]) -> None:
    server.reset()
    with (
        httpx.Client(base_url=server.url) as c,
        c.stream("POST", OPENAI[0], json={**OPENAI[1], "stream": True}, headers={"X-Mock": "token_delay=0.01"}) as r,
    ):
        for line in r.iter_lines():
            if "Mock" in line:
                break
    (rec,) = server.wait_for_log(1)
    assert rec.outcome == "disconnected" and 1 <= rec.tokens < 40
    time.sleep(0.05)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


@PROTOCOLS
def test_rpm_limits_each_key_and_says_how_long_to_wait(client: httpx.Client, proto: Proto) -> None:
    path, body = proto
    key = "x-api-key" if path == "/v1/messages" else "authorization"

    def ask(who: str) -> httpx.Response:
        return client.post(path, json=body, headers={"X-Mock": "rpm=2", key: f"Bearer {who}"})

    first, second, third = ask("a"), ask("a"), ask("a")
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert (first.headers["x-ratelimit-remaining-requests"], second.headers["x-ratelimit-remaining-requests"]) == (
        "1",
        "0",
    )
    # empty: one request comes back in 60 / 2 = 30 s (less the moment since the second)
    assert 29_000 < int(third.headers["retry-after-ms"]) <= 30_000 and third.headers["retry-after"] == "30"
    assert ask("b").status_code == 200  # another key has its own bucket
