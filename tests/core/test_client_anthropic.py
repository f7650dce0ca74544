"""RelayClient on the Anthropic messages API, and model listing on both protocols."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from relaycli.config.profile import ResolvedKey
from relaycli.core import client as client_module
from relaycli.core.client import RelayClient
from relaycli.datatypes import ChatRequest, Delta, Message
from relaycli.errors import AuthError, RateLimited, StreamError

from .support import ANTHROPIC_URL, OPENAI_URL, SECRET, Harness, profile, sse, sse_response

REQ = ChatRequest(model="claude-test", messages=(Message("user", "hi"),), system="terse")

START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude-test-2025",
        "usage": {
            "input_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 20,
            "output_tokens": 1,
        },
    },
}


def text(t: str) -> tuple[str, dict]:
    return (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}},
    )


def finished(*parts: tuple[str, dict]) -> bytes:
    return sse(
        ("message_start", START),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
        *parts,
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
        ),
        ("message_stop", {"type": "message_stop"}),
    )


OVERLOADED = ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
A_HEADERS = {"request-id": "req_ant_1", "x-request-id": "ignored"}


def routed(*responses: httpx.Response | Exception, base_url: str = ANTHROPIC_URL) -> tuple[Harness, respx.Route]:
    router = respx.Router(assert_all_mocked=True)
    route = router.post("https://api.anthropic.test/v1/messages").mock(side_effect=list(responses))
    return Harness(router.handler, prof=profile("anthropic", base_url=base_url)), route


@pytest.mark.parametrize("base", [ANTHROPIC_URL, ANTHROPIC_URL + "/", ANTHROPIC_URL + "/v1", ANTHROPIC_URL + "/v1/"])
def test_stream_urls_headers_body_and_result(base: str) -> None:
    h, route = routed(sse_response(finished(text("Hi"), text(" there")), headers=A_HEADERS), base_url=base)
    stream = h.client.stream(REQ)
    assert list(stream) == [Delta("Hi"), Delta(" there")]
    res = stream.result()
    assert res.text == "Hi there" and res.complete and res.finish_reason == "end_turn"
    assert res.model == "claude-test-2025" and res.request_id == "req_ant_1"
    assert (res.usage.prompt_tokens, res.usage.completion_tokens, res.usage.cached_tokens) == (25, 9, 20)
    sent = route.calls.last.request
    assert sent.headers["x-api-key"] == SECRET and sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    body = json.loads(sent.content)
    assert body["system"] == "terse" and body["max_tokens"] == 4096 and body["stream"] is True
    assert "stream_options" not in body


def test_overloaded_error_event_before_content_is_retried() -> None:
    h, route = routed(
        sse_response(sse(("message_start", START), OVERLOADED)),
        sse_response(finished(text("ok"))),
    )
    res = h.client.complete(REQ)
    assert res.text == "ok" and res.retries == 1 and route.call_count == 2
    assert h.notices[0].reason == "error event in the stream (overloaded_error)"
    assert h.sleep.waits == [0.5]


def test_error_event_after_content_is_raised_with_partial_text() -> None:
    h, route = routed(sse_response(sse(("message_start", START), text("half"), OVERLOADED), headers=A_HEADERS))
    stream = h.client.stream(REQ)
    with pytest.raises(StreamError) as info:
        list(stream)
    assert info.value.error_type == "overloaded_error" and info.value.request_id == "req_ant_1"
    assert stream.result().text == "half" and route.call_count == 1


def test_error_event_every_time_gives_up_after_retries() -> None:
    h, route = routed(*[sse_response(sse(OVERLOADED)) for _ in range(3)])
    with pytest.raises(StreamError, match="Overloaded"):
        h.client.complete(REQ)
    assert route.call_count == 3


def test_missing_message_stop_is_truncated() -> None:
    from relaycli.errors import TruncatedResponse

    body = sse(("message_start", START), text("cut"))
    h, _ = routed(sse_response(body))
    with pytest.raises(TruncatedResponse, match="message_stop"):
        h.client.complete(REQ)


def test_529_overloaded_status_is_retried() -> None:
    err = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    h, route = routed(httpx.Response(529, json=err), sse_response(finished(text("x"))))
    assert h.client.complete(REQ).retries == 1 and route.call_count == 2


def test_anthropic_401_message() -> None:
    err = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    h, _ = routed(httpx.Response(401, json=err))
    with pytest.raises(AuthError) as info:
        h.client.complete(REQ)
    assert "invalid x-api-key" in str(info.value) and "api.anthropic.test" in str(info.value)


def test_anthropic_models_paginate() -> None:
    router = respx.Router(assert_all_mocked=True)
    route = router.get("https://api.anthropic.test/v1/models").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": [{"id": "claude-a", "display_name": "A"}],
                    "has_more": True,
                    "last_id": "claude-a",
                },
            ),
            httpx.Response(
                200,
                json={
                    "data": [{"id": "claude-b", "display_name": "B"}],
                    "has_more": False,
                    "last_id": "claude-b",
                },
            ),
        ]
    )
    h = Harness(router.handler, prof=profile("anthropic", base_url=ANTHROPIC_URL + "/v1"))
    models = h.client.list_models()
    assert [m.id for m in models] == ["claude-a", "claude-b"]
    assert models[1].extra["display_name"] == "B"
    assert "after_id" not in route.calls[0].request.url.params
    assert route.calls[1].request.url.params["after_id"] == "claude-a"
    assert route.calls[1].request.headers["x-api-key"] == SECRET


def test_openai_models_and_retry() -> None:
    router = respx.Router(base_url=OPENAI_URL, assert_all_mocked=True)
    route = router.get("/models").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json={"data": [{"id": "gpt-4.1", "owned_by": "x"}]}),
        ]
    )
    h = Harness(router.handler)
    assert [m.id for m in h.client.list_models()] == ["gpt-4.1"]
    assert route.call_count == 2 and h.sleep.waits == [0.5]
    assert route.calls.last.request.headers["accept"] == "application/json"


def test_models_429_with_long_retry_after() -> None:
    router = respx.Router(base_url=OPENAI_URL, assert_all_mocked=True)
    router.get("/models").mock(return_value=httpx.Response(429, headers={"retry-after": "90"}))
    with pytest.raises(RateLimited, match="90 s"):
        Harness(router.handler).client.list_models()


def test_models_html_page_is_an_error() -> None:
    router = respx.Router(base_url=OPENAI_URL, assert_all_mocked=True)
    router.get("/models").mock(
        return_value=httpx.Response(
            200, text="<html><title>Login</title></html>", headers={"content-type": "text/html"}
        )
    )
    with pytest.raises(Exception, match="HTML page instead of JSON.*Login"):
        Harness(router.handler).client.list_models()


def test_quirks_default_to_a_module_level_store(monkeypatch: pytest.MonkeyPatch) -> None:
    store: dict[str, object] = {}
    monkeypatch.setattr(client_module, "QUIRKS", store)
    calls: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(json.loads(request.content))
        if "stream_options" in calls[-1]:
            return httpx.Response(400, json={"error": {"message": "extra field 'stream_options' not permitted"}})
        return sse_response(
            sse({"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}]}, done=True)
        )

    req = ChatRequest(model="m", messages=(Message("user", "x"),))
    with RelayClient(profile(), ResolvedKey("k", "config"), transport=httpx.MockTransport(handler)) as c:
        c.complete(req)
    with RelayClient(profile(), ResolvedKey("k", "config"), transport=httpx.MockTransport(handler)) as c:
        c.complete(req)
    assert store == {"holysheep": {"no_stream_options": True}}
    assert ["stream_options" in body for body in calls] == [True, False, False]
