"""StreamWriter bytes, non-streaming bodies, error bodies and model lists for both client protocols."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relaycli.datatypes import Usage
from relaycli.serve.wire import Protocol, StreamWriter, complete, error_body, for_client, models_body, stream_writer


def writer(client: Protocol, source: Protocol = "openai", include_usage: bool = True) -> StreamWriter:
    return stream_writer(
        client, model="m", request_id="r1", created=1700000000, include_usage=include_usage, source=source
    )


def events(raw: bytes) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) of every event in ``raw``."""
    out: list[tuple[str | None, Any]] = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        text = "\n".join(data)
        out.append((name, text if text == "[DONE]" else json.loads(text)))
    return out


def test_content_type_and_for_client() -> None:
    assert for_client("openai").protocol == "openai"
    assert for_client("anthropic").protocol == "anthropic"
    assert writer("openai").content_type == writer("anthropic").content_type == "text/event-stream"


# -- OpenAI clients --


def test_openai_synthesized_stream() -> None:
    w = writer("openai", source="anthropic")
    out = w.start() + w.text("Hel") + w.text("") + w.text("lo ✓") + w.finish("max_tokens", Usage(10, 2, 4))
    got = events(out)
    assert got[-1] == (None, "[DONE]")
    chunks = [data for _, data in got[:-1]]
    assert all(c["id"] == "chatcmpl-r1" and c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["created"] == 1700000000 and c["model"] == "m" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["Hel", "lo ✓"]
    assert chunks[3]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
    assert chunks[4]["choices"] == []
    assert chunks[4]["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    assert all(c["usage"] is None for c in chunks[:4])
    assert "✓".encode() in out  # UTF-8, not \u escapes
    assert b'": ' not in out and b'", "' not in out  # compact


def test_openai_without_include_usage() -> None:
    w = writer("openai", include_usage=False)
    got = events(w.start() + w.text("x") + w.finish("stop", Usage(1, 1)))
    assert [data for _, data in got][-1] == "[DONE]"
    assert len(got) == 4
    assert all("usage" not in data for _, data in got[:-1])


def test_openai_unknown_usage_is_null() -> None:
    got = events(writer("openai").finish(None, Usage()))
    assert got[0][1]["choices"][0]["finish_reason"] == "stop"  # a clean end with no reason given
    assert got[1][1]["usage"] is None


def test_openai_raw_pass_through() -> None:
    w = writer("openai")
    data = '{"id":"chatcmpl-up","choices":[{"index":0,"delta":{"content":"hi"}}]}'
    assert w.raw(data) == b"data: " + data.encode() + b"\n\n"
    assert w.raw('{"a":\n1}') == b'data: {"a":\ndata: 1}\n\n'
    assert w.done() == b"data: [DONE]\n\n"


def test_openai_raw_drops_usage_chunk_not_asked_for() -> None:
    usage = '{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
    assert writer("openai", include_usage=True).raw(usage) == b"data: " + usage.encode() + b"\n\n"
    assert writer("openai", include_usage=False).raw(usage) == b""


def test_openai_broken_has_no_terminator() -> None:
    w = writer("openai")
    out = w.start() + w.text("partial") + w.broken("the upstream connection was reset", 502)
    got = events(out)
    assert got[-1] == (
        None,
        {"error": {"message": "the upstream connection was reset", "type": "server_error", "code": None}},
    )
    assert b"[DONE]" not in out
    assert b'finish_reason":"' not in out
    assert events(w.broken("slow down", 429))[0][1]["error"]["type"] == "rate_limit_error"


def test_openai_complete() -> None:
    body = complete(
        "openai",
        model="m",
        request_id=None,
        created=5,
        text="answer",
        finish_reason="end_turn",
        source="anthropic",
        usage=Usage(7, 3),
    )
    assert body["id"].startswith("chatcmpl-")
    assert body == {
        "id": body["id"],
        "object": "chat.completion",
        "created": 5,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "answer", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
    unknown = complete(
        "openai", model="m", request_id="x", created=5, text="", finish_reason="stop", source="openai", usage=Usage()
    )
    assert "usage" not in unknown


# -- Anthropic clients --


def test_anthropic_synthesized_stream() -> None:
    w = writer("anthropic", source="openai")
    usage = Usage(prompt_tokens=100, completion_tokens=9, cached_tokens=60, cache_write_tokens=30)
    out = w.start() + w.text("Hi") + w.text(" there") + w.finish("length", usage)
    got = events(out)
    names = [name for name, _ in got]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in got)
    start = got[0][1]["message"]
    assert start["id"] == "msg_r1" and start["model"] == "m" and start["role"] == "assistant"
    assert start["content"] == [] and start["stop_reason"] is None
    assert got[1][1]["content_block"] == {"type": "text", "text": ""}
    assert got[2][1]["delta"] == {"type": "text_delta", "text": "Hi"}
    assert got[5][1]["delta"] == {"stop_reason": "max_tokens", "stop_sequence": None}
    assert got[5][1]["usage"] == {
        "input_tokens": 10,
        "output_tokens": 9,
        "cache_read_input_tokens": 60,
        "cache_creation_input_tokens": 30,
    }


def test_anthropic_unknown_usage_uses_required_placeholders_only() -> None:
    got = events(writer("anthropic").finish(None, Usage()))
    assert got[1][1]["delta"]["stop_reason"] == "end_turn"
    assert got[1][1]["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_anthropic_raw_pass_through_names_the_event() -> None:
    w = writer("anthropic", source="anthropic")
    delta = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}'
    assert w.raw(delta) == b"event: content_block_delta\ndata: " + delta.encode() + b"\n\n"
    assert w.raw('{"type": "ping"}') == b'event: ping\ndata: {"type": "ping"}\n\n'
    reordered = '{"index":0,"delta":{"type":"text_delta","text":"x"},"type":"content_block_delta"}'
    assert w.raw(reordered).startswith(b"event: content_block_delta\n")
    assert w.raw(delta, event="content_block_delta").startswith(b"event: content_block_delta\n")
    assert w.raw("not json").startswith(b"event: message\n")
    assert w.raw('{"type":"message_stop"}') == b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    assert w.done() == b""


def test_anthropic_broken_has_no_message_stop() -> None:
    w = writer("anthropic")
    out = w.start() + w.text("partial") + w.broken("upstream went away", 502)
    got = events(out)
    assert got[-1] == ("error", {"type": "error", "error": {"type": "api_error", "message": "upstream went away"}})
    assert b"message_stop" not in out and b"message_delta" not in out
    assert events(w.broken("busy", 529))[0][1]["error"]["type"] == "overloaded_error"


def test_anthropic_complete() -> None:
    body = complete(
        "anthropic",
        model="m",
        request_id="msg_9",
        created=5,
        text="answer",
        finish_reason="tool_calls",
        source="openai",
        usage=Usage(prompt_tokens=50, completion_tokens=5, cached_tokens=20),
    )
    assert body == {
        "id": "msg_9",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "answer"}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 5, "cache_read_input_tokens": 20},
    }


# -- errors and model lists --


@pytest.mark.parametrize(
    ("status", "openai", "anthropic"),
    [
        (400, "invalid_request_error", "invalid_request_error"),
        (401, "authentication_error", "authentication_error"),
        (402, "invalid_request_error", "billing_error"),
        (403, "permission_error", "permission_error"),
        (404, "not_found_error", "not_found_error"),
        (413, "invalid_request_error", "request_too_large"),
        (422, "invalid_request_error", "invalid_request_error"),
        (429, "rate_limit_error", "rate_limit_error"),
        (500, "server_error", "api_error"),
        (502, "server_error", "api_error"),
        (503, "server_error", "api_error"),
        (504, "server_error", "timeout_error"),
        (529, "overloaded_error", "overloaded_error"),
    ],
)
def test_error_types(status: int, openai: str, anthropic: str) -> None:
    assert error_body("openai", status, "m") == {"error": {"message": "m", "type": openai, "param": None, "code": None}}
    assert error_body("anthropic", status, "m") == {"type": "error", "error": {"type": anthropic, "message": "m"}}


def test_error_kind_and_param() -> None:
    assert error_body("openai", 400, "bad", param="messages[0].content")["error"]["param"] == "messages[0].content"
    assert error_body("openai", 429, "quota", kind="insufficient_quota")["error"]["type"] == "insufficient_quota"
    assert error_body("openai", 500, "x", kind="api_error")["error"]["type"] == "server_error"
    assert error_body("anthropic", 500, "x", kind="server_error")["error"]["type"] == "api_error"
    assert error_body("anthropic", 529, "x", kind="overloaded_error")["error"]["type"] == "overloaded_error"


def test_models_bodies() -> None:
    models = [("gpt-4o", "openai"), ("local", None)]
    assert models_body("openai", models) == {
        "object": "list",
        "data": [
            {"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "openai"},
            {"id": "local", "object": "model", "created": 0, "owned_by": "relay"},
        ],
    }
    body = models_body("anthropic", models)
    assert body["data"][1] == {
        "type": "model",
        "id": "local",
        "display_name": "local",
        "created_at": "1970-01-01T00:00:00Z",
    }
    assert (body["has_more"], body["first_id"], body["last_id"]) == (False, "gpt-4o", "local")
    assert models_body("anthropic", []) == {"data": [], "has_more": False, "first_id": None, "last_id": None}
