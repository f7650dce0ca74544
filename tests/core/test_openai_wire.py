"""The chat-completions wire format, without HTTP."""

from __future__ import annotations

import pytest

from relaycli.core.formats import openai
from relaycli.core.sse import SSEEvent
from relaycli.datatypes import ChatRequest, Delta, Message
from relaycli.errors import EndpointError, StreamError

from .support import chunk, usage_chunk


def ev(data: str, event: str = "message") -> SSEEvent:
    return SSEEvent(event, data)


def js(obj: object) -> SSEEvent:
    import json

    return ev(json.dumps(obj))


REQ = ChatRequest(
    model="gpt-test",
    messages=(Message("user", "hi"), Message("assistant", "hello"), Message("user", "more")),
    system="be brief",
    temperature=0.2,
    max_tokens=50,
)


def test_build_request_streaming_with_usage() -> None:
    body = openai.build_request(REQ, include_usage=True)
    assert body == {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "more"},
        ],
        "stream": True,
        "temperature": 0.2,
        "max_tokens": 50,
        "stream_options": {"include_usage": True},
    }


def test_build_request_minimal_and_without_stream_options() -> None:
    req = ChatRequest(model="m", messages=(Message("user", "x"),))
    body = openai.build_request(req, include_usage=False)
    assert body == {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
    body = openai.build_request(ChatRequest(model="m", messages=(), stream=False), include_usage=True)
    assert "stream_options" not in body and body["stream"] is False


def test_auth_headers() -> None:
    assert openai.auth_headers("k") == {"Authorization": "Bearer k"}
    assert openai.auth_headers(None) == {}


def test_stream_with_usage_in_last_empty_choices_chunk() -> None:
    p = openai.StreamParser()
    out: list[Delta] = []
    for obj in (
        {**chunk(), "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]},
        chunk("Hel"),
        chunk("lo"),
        chunk(finish="stop"),
    ):
        out += p.feed(js(obj))
    assert not p.complete  # finish_reason but no [DONE] yet
    assert p.usage.prompt_tokens is None
    out += p.feed(js(usage_chunk(prompt=20, completion=5, cached=8)))
    out += p.feed(ev("[DONE]"))
    assert out == [Delta("Hel"), Delta("lo")]
    assert p.complete and p.done
    assert p.finish_reason == "stop"
    assert p.model == "gpt-test"
    assert p.response_id == "chatcmpl-1"
    u = p.usage
    assert (u.prompt_tokens, u.completion_tokens, u.cached_tokens) == (20, 5, 8)
    assert u.raw == usage_chunk(prompt=20, completion=5, cached=8)["usage"]


def test_stream_without_usage_leaves_it_unknown_not_zero() -> None:
    p = openai.StreamParser()
    p.feed(js(chunk("x")))
    p.feed(js({**chunk(finish="stop"), "usage": None}))
    p.feed(ev("[DONE]"))
    assert p.complete
    assert p.usage.prompt_tokens is None and p.usage.completion_tokens is None
    assert p.usage.cached_tokens is None and not p.usage.known


def test_usage_without_cache_details_has_unknown_cached_tokens() -> None:
    p = openai.StreamParser()
    p.feed(js(usage_chunk(cached=None)))
    assert p.usage.prompt_tokens == 11 and p.usage.cached_tokens is None


def test_done_without_finish_reason_is_not_complete() -> None:
    p = openai.StreamParser()
    p.feed(js(chunk("x")))
    p.feed(ev("[DONE]"))
    assert p.done and not p.complete


def test_reasoning_deltas() -> None:
    p = openai.StreamParser()
    a = p.feed(js(chunk(reasoning="think")))
    b = p.feed(js({**chunk(), "choices": [{"index": 0, "delta": {"reasoning": "more"}}]}))
    c = p.feed(js(chunk("answer")))
    assert a + b + c == [Delta("think", "reasoning"), Delta("more", "reasoning"), Delta("answer")]


def test_openrouter_error_payload_in_stream() -> None:
    p = openai.StreamParser()
    with pytest.raises(StreamError) as info:
        p.feed(js({"error": {"message": "Provider returned error", "code": 502}}))
    assert "Provider returned error" in str(info.value)
    assert info.value.error_type == "502"


def test_litellm_error_payload_with_type() -> None:
    p = openai.StreamParser()
    with pytest.raises(StreamError) as info:
        p.feed(js({"error": {"message": "overloaded", "type": "server_error"}}))
    assert info.value.error_type == "server_error"


def test_vllm_error_object_in_stream() -> None:
    p = openai.StreamParser()
    with pytest.raises(StreamError) as info:
        p.feed(js({"object": "error", "message": "max context exceeded", "type": "BadRequestError", "code": 400}))
    assert "max context exceeded" in str(info.value)
    assert info.value.error_type == "BadRequestError"


def test_non_json_chunk_is_an_error_with_excerpt() -> None:
    p = openai.StreamParser()
    with pytest.raises(EndpointError) as info:
        p.feed(ev("{not json at all"))
    assert not isinstance(info.value, StreamError)
    assert "malformed" in str(info.value) and "{not json at all" in str(info.value)


def test_json_that_is_not_an_object_is_malformed() -> None:
    with pytest.raises(EndpointError, match="not a JSON object"):
        openai.StreamParser().feed(ev("[1, 2]"))


def test_empty_data_event_is_ignored() -> None:
    assert openai.StreamParser().feed(ev("")) == []


def test_parse_response() -> None:
    done = openai.parse_response(
        {
            "id": "chatcmpl-9",
            "model": "gpt-test-2024",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi", "reasoning_content": "r"},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }
    )
    assert (done.text, done.model, done.finish_reason, done.response_id, done.reasoning) == (
        "hi",
        "gpt-test-2024",
        "length",
        "chatcmpl-9",
        "r",
    )
    assert done.usage.prompt_tokens == 3 and done.usage.cached_tokens is None


def test_parse_response_error_body_raises() -> None:
    with pytest.raises(StreamError, match="bad things"):
        openai.parse_response({"error": {"message": "bad things", "type": "x"}})
    with pytest.raises(EndpointError, match="no choices"):
        openai.parse_response({"id": "x"})


def test_parse_models() -> None:
    models = openai.parse_models(
        {
            "object": "list",
            "data": [
                {"id": "gpt-4.1", "owned_by": "openai", "created": 1},
                {"id": "llama", "context_length": 8192},
                {"id": "qwen", "max_model_len": 32768},
                {"no_id": True},
            ],
        }
    )
    assert [m.id for m in models] == ["gpt-4.1", "llama", "qwen"]
    assert models[0].owned_by == "openai" and models[0].extra == {"created": 1}
    assert [m.context_window for m in models] == [None, 8192, 32768]
    with pytest.raises(EndpointError):
        openai.parse_models({"nothing": 1})
