"""The messages wire format, without HTTP."""

from __future__ import annotations

import json

import pytest

from relaycli.core.formats import anthropic
from relaycli.core.sse import SSEDecoder
from relaycli.datatypes import ChatRequest, Delta, Message
from relaycli.errors import EndpointError, StreamError

from .support import sse

MESSAGE_START = {
    "type": "message_start",
    "message": {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1000,
            "output_tokens": 1,
        },
    },
}


def full_stream() -> bytes:
    return sse(
        ("message_start", MESSAGE_START),
        ("ping", {"type": "ping"}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "hmm"},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "abc"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hello"}},
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " world"}},
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 5}},
        ),
        ("future_event", {"type": "future_event", "x": 1}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 12}},
        ),
        ("message_stop", {"type": "message_stop"}),
    )


def run(body: bytes) -> tuple[list[Delta], anthropic.StreamParser]:
    decoder, parser = SSEDecoder(), anthropic.StreamParser()
    out: list[Delta] = []
    for event in decoder.feed(body):
        out += parser.feed(event)
    return out, parser


def test_build_request() -> None:
    req = ChatRequest(
        model="claude-test",
        messages=(Message("system", "extra rules"), Message("user", "hi")),
        system="be brief",
        temperature=0.5,
    )
    body = anthropic.build_request(req, include_usage=True)
    assert body == {
        "model": "claude-test",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "system": "be brief\n\nextra rules",
        "temperature": 0.5,
    }
    body = anthropic.build_request(ChatRequest(model="m", messages=(), max_tokens=9), include_usage=False)
    assert body["max_tokens"] == 9 and "system" not in body


def test_auth_headers() -> None:
    assert anthropic.auth_headers("k") == {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    assert anthropic.auth_headers(None) == {"anthropic-version": "2023-06-01"}


def test_full_event_sequence() -> None:
    out, p = run(full_stream())
    assert out == [Delta("hmm", "reasoning"), Delta("Hello"), Delta(" world")]
    assert p.complete and p.finish_reason == "end_turn"
    assert p.model == "claude-test" and p.response_id == "msg_01"
    assert p.pings == 2
    u = p.usage
    # cumulative output_tokens: the last message_delta wins (12), never 1 + 5 + 12
    assert u.completion_tokens == 12
    assert u.prompt_tokens == 1110
    assert u.cached_tokens == 1000 and u.cache_write_tokens == 100
    assert u.raw is not None and u.raw["input_tokens"] == 10


def test_output_tokens_placeholder_is_not_reported_before_message_delta() -> None:
    _, p = run(sse(("message_start", MESSAGE_START)))
    assert p.usage.prompt_tokens == 1110
    assert p.usage.completion_tokens is None
    assert not p.complete


def test_message_delta_usage_overwrites_input_counts_too() -> None:
    _, p = run(
        sse(
            ("message_start", MESSAGE_START),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "max_tokens"},
                    "usage": {"input_tokens": 20, "output_tokens": 3},
                },
            ),
        )
    )
    assert p.usage.prompt_tokens == 1120 and p.usage.completion_tokens == 3


def test_stop_without_stop_reason_is_not_complete() -> None:
    _, p = run(sse(("message_start", MESSAGE_START), ("message_stop", {"type": "message_stop"})))
    assert p.done and not p.complete


def test_error_event() -> None:
    body = sse(
        ("message_start", MESSAGE_START),
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
    with pytest.raises(StreamError) as info:
        run(body)
    assert info.value.error_type == "overloaded_error"
    assert "Overloaded" in str(info.value)


def test_malformed_event() -> None:
    with pytest.raises(EndpointError, match="malformed"):
        run(b"event: content_block_delta\ndata: {oops\n\n")


def test_parse_response() -> None:
    done = anthropic.parse_response(
        {
            "id": "msg_1",
            "type": "message",
            "model": "claude-test",
            "content": [
                {"type": "thinking", "thinking": "t"},
                {"type": "text", "text": "a"},
                {"type": "tool_use", "id": "x"},
                {"type": "text", "text": "b"},
            ],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 4, "output_tokens": 2, "cache_read_input_tokens": 6},
        }
    )
    assert (done.text, done.reasoning, done.finish_reason, done.model) == (
        "ab",
        "t",
        "end_turn",
        "claude-test",
    )
    assert (done.usage.prompt_tokens, done.usage.completion_tokens, done.usage.cached_tokens) == (10, 2, 6)
    assert done.usage.cache_write_tokens is None


def test_parse_response_error_body() -> None:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: required"}}
    with pytest.raises(StreamError, match="max_tokens: required"):
        anthropic.parse_response(body)


def test_parse_models_and_pagination() -> None:
    page = {
        "data": [{"type": "model", "id": "claude-a", "display_name": "Claude A", "created_at": "2025-01-01"}],
        "has_more": True,
        "first_id": "claude-a",
        "last_id": "claude-a",
    }
    models = anthropic.parse_models(page)
    assert models[0].id == "claude-a" and models[0].extra["display_name"] == "Claude A"
    assert anthropic.next_page(page) == "claude-a"
    assert anthropic.next_page({**page, "has_more": False}) is None
    assert json.dumps(models[0].extra)  # plain data
