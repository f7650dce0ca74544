"""RelayClient streaming over a fake transport: results, timing, retries, truncation."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from relaycli.datatypes import ChatRequest, Delta, Message
from relaycli.errors import (
    EndpointError,
    NetworkError,
    RateLimited,
    StreamError,
    TruncatedResponse,
)

from .support import (
    OPENAI_URL,
    SECRET,
    Chunks,
    Harness,
    chunk,
    openai_stream,
    profile,
    sse,
    sse_response,
)

REQ = ChatRequest(model="gpt-test", messages=(Message("user", "hi"),))


def routed(*responses: httpx.Response | Exception, path: str = "/chat/completions") -> tuple[Harness, respx.Route]:
    router = respx.Router(base_url=OPENAI_URL, assert_all_mocked=True)
    route = router.post(path).mock(side_effect=list(responses))
    return Harness(router.handler), route


def test_stream_text_usage_timing_and_request(monkeypatch: pytest.MonkeyPatch) -> None:
    h, route = routed(sse_response(openai_stream("Hel", "lo")))
    stream = h.client.stream(REQ)
    deltas = list(stream)
    assert deltas == [Delta("Hel"), Delta("lo")]
    res = stream.result()
    assert res.text == "Hello" and res.complete and res.finish_reason == "stop"
    assert res.model == "gpt-test" and res.request_id == "req-123" and res.status == 200 and res.retries == 0
    assert (res.usage.prompt_tokens, res.usage.completion_tokens, res.usage.cached_tokens) == (11, 7, 3)
    t = res.timing
    assert t.started_at.endswith("+00:00")
    assert None not in (t.t_start, t.t_send, t.t_headers, t.t_first_token, t.t_last_token, t.t_end)
    sent = route.calls.last.request
    assert str(sent.url) == "https://relay.test/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.headers["accept"] == "text/event-stream"
    body = json.loads(sent.content)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_timing_follows_the_injected_clock() -> None:
    h: Harness

    def handler(request: httpx.Request) -> httpx.Response:
        h.clock.advance(0.2)  # time to headers
        return sse_response(Chunks([0.3, sse(chunk("a")), 0.5, sse(chunk("b")), 0.1, openai_stream()], h.clock))

    h = Harness(handler)
    stream = h.client.stream(REQ)
    list(stream)
    t = stream.result().timing
    assert t.ttfb_ms == pytest.approx(200)
    assert t.ttft_ms == pytest.approx(500)
    assert t.t_last_token is not None and t.t_send is not None
    assert (t.t_last_token - t.t_send) / 1e6 == pytest.approx(1000)
    assert t.latency_ms == pytest.approx(1100)


def test_stream_without_usage_is_unknown_not_zero() -> None:
    h, _ = routed(sse_response(openai_stream("x", usage=False)))
    res = h.client.complete(REQ)
    assert res.complete and res.text == "x"
    assert res.usage.prompt_tokens is None and res.usage.completion_tokens is None


def test_trailing_slash_and_profile_headers() -> None:
    router = respx.Router(assert_all_mocked=True)
    route = router.post("https://relay.test/v1/chat/completions").mock(return_value=sse_response(openai_stream("x")))
    prof = profile(base_url="https://relay.test/v1/", headers={"X-Team": "search"})
    h = Harness(router.handler, prof=prof)
    h.client.complete(REQ)
    assert route.calls.last.request.headers["x-team"] == "search"


def test_truncated_without_done_keeps_partial_text() -> None:
    h, _ = routed(sse_response(sse(chunk("partial "), chunk("answer"))))
    stream = h.client.stream(REQ)
    got: list[str] = []
    with pytest.raises(TruncatedResponse) as info:
        for d in stream:
            got.append(d.text)
    assert got == ["partial ", "answer"]
    assert "[DONE]" in str(info.value) and info.value.exit_code == 5
    res = stream.result()
    assert res.text == "partial answer" and not res.complete and res.retries == 0
    assert h.notices == []  # content was shown: never retried


def test_done_without_finish_reason_is_truncated() -> None:
    h, _ = routed(sse_response(sse(chunk("x"), done=True)))
    with pytest.raises(TruncatedResponse, match="finish_reason"):
        h.client.complete(REQ)


def test_connection_reset_mid_stream_is_truncated_and_keeps_text() -> None:
    body = Chunks([sse(chunk("one ")), sse(chunk("two")), httpx.ReadError("Connection reset by peer")])
    h, route = routed(sse_response(body))
    stream = h.client.stream(REQ)
    with pytest.raises(TruncatedResponse) as info:
        list(stream)
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert stream.result().text == "one two"
    assert route.call_count == 1


def test_error_payload_in_200_stream_after_content_is_not_retried() -> None:
    body = sse(chunk("a"), {"error": {"message": "Provider disconnected", "code": 502}})
    h, route = routed(sse_response(body), sse_response(openai_stream("never")))
    stream = h.client.stream(REQ)
    with pytest.raises(StreamError, match="Provider disconnected") as info:
        list(stream)
    assert info.value.request_id == "req-123" and info.value.exit_code == 5
    assert "relay.test (profile 'holysheep') reported an error" in str(info.value)
    assert "(502)" in str(info.value)
    assert route.call_count == 1 and stream.result().text == "a"


def test_error_payload_before_content_is_retried() -> None:
    bad = sse_response(sse({"error": {"message": "overloaded", "type": "server_error"}}))
    h, route = routed(bad, sse_response(openai_stream("ok")))
    res = h.client.complete(REQ)
    assert res.text == "ok" and res.retries == 1 and route.call_count == 2
    assert [n.attempt for n in h.notices] == [1]
    assert "server_error" in h.notices[0].reason


def test_non_json_chunk_is_malformed_not_skipped() -> None:
    bad = b'data: {"choices": [\ndata: oops\n\n'
    h, route = routed(sse_response(bad), sse_response(bad), sse_response(bad))
    with pytest.raises(EndpointError, match="malformed") as info:
        h.client.complete(REQ)
    assert not isinstance(info.value, StreamError)
    assert route.call_count == 3  # before any content it is retried like a truncation


def test_retries_503_then_succeeds_with_backoff_waits() -> None:
    h, route = routed(
        httpx.Response(503, json={"error": {"message": "busy"}}),
        httpx.Response(502, text="bad gateway"),
        sse_response(openai_stream("done")),
    )
    stream = h.client.stream(REQ)
    assert [d.text for d in stream] == ["done"]
    res = stream.result()
    assert res.retries == 2 and res.status == 200 and res.complete
    assert h.sleep.waits == [0.5, 1.0]
    assert [(n.attempt, n.wait_s, n.reason) for n in h.notices] == [
        (1, 0.5, "HTTP 503"),
        (2, 1.0, "HTTP 502"),
    ]
    assert route.call_count == 3


def test_t_send_is_the_last_attempt() -> None:
    h, _ = routed(httpx.Response(500), sse_response(openai_stream("x")))
    stream = h.client.stream(REQ)
    list(stream)
    t = stream.result().timing
    assert t.t_send is not None and t.t_start is not None
    assert (t.t_send - t.t_start) / 1e9 == pytest.approx(0.5)  # after the backoff sleep


def test_5xx_after_retries_is_endpoint_error() -> None:
    h, route = routed(
        *[httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
        * 3
    )
    with pytest.raises(EndpointError) as info:
        h.client.complete(REQ)
    assert info.value.status == 529 and "Overloaded" in str(info.value) and "2 retries" in str(info.value)
    assert route.call_count == 3 and len(h.sleep.waits) == 2


def test_429_after_retries_is_rate_limited() -> None:
    h, route = routed(*[httpx.Response(429, headers={"retry-after": "1"}, json={"error": {"message": "slow"}})] * 3)
    with pytest.raises(RateLimited) as info:
        h.client.complete(REQ)
    assert info.value.exit_code == 8 and "slow" in str(info.value)
    assert h.sleep.waits == [1.0, 1.0]


def test_retry_after_ms_is_used() -> None:
    h, _ = routed(httpx.Response(429, headers={"retry-after-ms": "250"}), sse_response(openai_stream("x")))
    h.client.complete(REQ)
    assert h.sleep.waits == [0.25]


def test_retry_after_http_date_uses_wall_clock() -> None:
    date = "Tue, 14 Nov 2023 22:13:50 GMT"  # 30 s after the harness's wall clock
    h, _ = routed(httpx.Response(503, headers={"retry-after": date}), sse_response(openai_stream("x")))
    h.client.complete(REQ)
    assert h.sleep.waits == [pytest.approx(30.0)]


def test_retry_after_too_long_fails_at_once_with_exit_8() -> None:
    h, route = routed(httpx.Response(429, headers={"retry-after": "3600"}), sse_response(openai_stream("x")))
    with pytest.raises(RateLimited) as info:
        h.client.complete(REQ)
    assert "3600 s" in str(info.value) and "hour" in str(info.value)
    assert info.value.exit_code == 8 and h.sleep.waits == [] and route.call_count == 1


def test_x_should_retry_false_stops_a_retryable_status() -> None:
    h, route = routed(httpx.Response(503, headers={"x-should-retry": "false"}), sse_response(openai_stream("x")))
    with pytest.raises(EndpointError):
        h.client.complete(REQ)
    assert route.call_count == 1


def test_x_should_retry_true_retries_a_409_style_conflict_and_even_a_400() -> None:
    h, route = routed(httpx.Response(400, headers={"x-should-retry": "true"}), sse_response(openai_stream("x")))
    assert h.client.complete(REQ).retries == 1 and route.call_count == 2


def test_no_retry_once_content_was_yielded() -> None:
    body = Chunks([sse(chunk("shown")), httpx.RemoteProtocolError("peer closed connection")])
    h, route = routed(sse_response(body), sse_response(openai_stream("again")))
    stream = h.client.stream(REQ)
    it = iter(stream)
    assert next(it) == Delta("shown")
    with pytest.raises(TruncatedResponse):
        next(it)
    assert route.call_count == 1 and h.notices == []


def test_connect_error_before_response_is_retried() -> None:
    h, route = routed(httpx.ConnectError("[Errno 111] Connection refused"), sse_response(openai_stream("x")))
    res = h.client.complete(REQ)
    assert res.retries == 1 and h.notices[0].reason == "connection failed"


def test_connect_errors_exhausted_become_network_error() -> None:
    h, _ = routed(*[httpx.ConnectError("[Errno 111] Connection refused")] * 3)
    with pytest.raises(NetworkError) as info:
        h.client.complete(REQ)
    assert "relay.test:443" in str(info.value) and "is the server running?" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_stream_options_rejected_falls_back_once_and_is_remembered() -> None:
    reject = httpx.Response(400, json={"error": {"message": "Unrecognized request argument: stream_options"}})
    h, route = routed(reject, sse_response(openai_stream("x", usage=False)), sse_response(openai_stream("y")))
    res = h.client.complete(REQ)
    assert res.text == "x" and res.usage.prompt_tokens is None and res.retries == 0 and h.notices == []
    first, second = (json.loads(c.request.content) for c in route.calls)
    assert "stream_options" in first and "stream_options" not in second
    assert h.quirks == {"holysheep": {"no_stream_options": True}}
    h.client.complete(REQ)  # remembered: the third request goes without it at once
    assert "stream_options" not in json.loads(route.calls.last.request.content)
    assert route.call_count == 3


def test_keyboard_interrupt_mid_stream_keeps_partial_result() -> None:
    body = Chunks([sse(chunk("par")), sse(chunk("tial")), KeyboardInterrupt()])
    h, _ = routed(sse_response(body))
    stream = h.client.stream(REQ)
    got = []
    with pytest.raises(KeyboardInterrupt):
        for d in stream:
            got.append(d.text)
    res = stream.result()
    assert res.text == "partial" and not res.complete and res.timing.t_end is not None
    assert body.closed


def test_interrupt_in_consumer_then_result_and_close() -> None:
    h, _ = routed(sse_response(openai_stream("a", "b", "c")))
    stream = h.client.stream(REQ)
    for d in stream:
        assert d.text == "a"
        break  # the consumer stops (e.g. Ctrl-C while rendering)
    res = stream.result()
    assert res.text == "a" and not res.complete and res.timing.t_end is not None
    stream.close()
    assert stream.result().text == "a"


def test_result_before_iteration() -> None:
    h, route = routed(sse_response(openai_stream("a")))
    res = h.client.stream(REQ).result()
    assert res.text == "" and not res.complete and res.status is None and route.call_count == 0


def test_non_streaming_request() -> None:
    body = {
        "id": "chatcmpl-2",
        "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1},
    }
    h, route = routed(httpx.Response(200, json=body, headers={"x-request-id": "r9"}))
    res = h.client.complete(ChatRequest(model="gpt-test", messages=(Message("user", "hi"),), stream=False))
    assert (res.text, res.finish_reason, res.request_id, res.complete) == ("whole", "stop", "r9", True)
    assert res.usage.completion_tokens == 1
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream"] is False and "stream_options" not in sent


def test_stream_request_answered_with_json_is_accepted() -> None:
    body = {"choices": [{"index": 0, "message": {"content": "plain"}, "finish_reason": "stop"}]}
    h, _ = routed(httpx.Response(200, json=body))
    assert h.client.complete(REQ).text == "plain"


def test_reading_stops_at_the_end_marker_even_if_the_body_stays_open() -> None:
    body = Chunks([openai_stream("x"), httpx.ReadTimeout("server never closed the body")])
    h, _ = routed(sse_response(body))
    res = h.client.complete(REQ)
    assert res.complete and res.text == "x"


def test_event_stream_labelled_text_plain_is_still_read() -> None:
    h, _ = routed(sse_response(openai_stream("Hel", "lo"), headers={"content-type": "text/plain; charset=utf-8"}))
    stream = h.client.stream(REQ)
    assert "".join(d.text for d in stream) == "Hello"
    assert stream.result().complete


def test_reasoning_models_get_max_completion_tokens() -> None:
    from relaycli.core.formats import openai

    req = ChatRequest(model="o4-mini", messages=(Message("user", "hi"),), max_tokens=50)
    assert openai.build_request(req, include_usage=True)["max_completion_tokens"] == 50
    assert "max_tokens" not in openai.build_request(req, include_usage=True)
    for model in ("gpt-4.1", "llama-3.1-8b", "openai/gpt-4o", "claude-sonnet-4-5"):
        req = ChatRequest(model=model, messages=(Message("user", "hi"),), max_tokens=50)
        assert openai.build_request(req, include_usage=True)["max_tokens"] == 50
    req = ChatRequest(model="openai/o3", messages=(Message("user", "hi"),), max_tokens=5)
    assert "max_completion_tokens" in openai.build_request(req, include_usage=True)


def test_server_refusing_max_tokens_gets_max_completion_tokens_and_it_is_remembered() -> None:
    refusal = httpx.Response(
        400,
        json={
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error",
            }
        },
    )
    h, route = routed(refusal, sse_response(openai_stream("ok")), sse_response(openai_stream("ok")))
    req = ChatRequest(model="my-reasoner", messages=(Message("user", "hi"),), max_tokens=20)
    stream = h.client.stream(req)
    assert "".join(d.text for d in stream) == "ok"
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies[0]["max_tokens"] == 20 and bodies[1]["max_completion_tokens"] == 20
    assert "max_tokens" not in bodies[1] and stream.result().retries == 0
    list(h.client.stream(req))  # the next request goes out right the first time
    assert json.loads(route.calls.last.request.content)["max_completion_tokens"] == 20
    assert len(route.calls) == 3


def test_base_url_query_string_is_kept() -> None:
    from relaycli.config.profile import ResolvedKey
    from relaycli.core.client import RelayClient
    from relaycli.measure.http1 import api_path

    p = profile(base_url="https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21")
    client = RelayClient(p, ResolvedKey("k", "test"))
    assert client.chat_url == "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"
    assert api_path(p, "models") == "/openai/deployments/d/models?api-version=2024-10-21"
    client.close()


def test_done_marker_without_its_blank_line_still_ends_the_stream() -> None:
    body = openai_stream("Hel", "lo")
    assert body.endswith(b"data: [DONE]\n\n")
    for ending in (b"data: [DONE]\n", b"data: [DONE]"):
        h, _ = routed(sse_response(body[: -len(b"data: [DONE]\n\n")] + ending))
        stream = h.client.stream(REQ)
        assert "".join(d.text for d in stream) == "Hello"
        assert stream.result().complete


def test_an_unfinished_content_event_is_still_discarded() -> None:
    body = openai_stream("Hel", "lo")
    cut = body[: -len(b"data: [DONE]\n\n")].rstrip(b"\n")  # the usage chunk loses its blank line
    h, _ = routed(sse_response(cut))
    with pytest.raises(TruncatedResponse):
        list(h.client.stream(REQ))
