"""Non-streaming answers assembled from realistic upstream streams of each protocol."""

from __future__ import annotations

import json
from typing import Any

from relaycli.serve.wire import collect


def js(*objs: Any) -> list[str]:
    return [o if isinstance(o, str) else json.dumps(o) for o in objs]


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion.chunk",
        "created": 1727000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_1",
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
    }


OPENAI_TOOLS = js(
    chunk(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
            ],
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"loc'}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ation": "Paris"}'}}]}),
    chunk(
        {
            "tool_calls": [
                {"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"tz": "CET"}'}}]}),
    chunk({}, "tool_calls"),
    {
        "id": "chatcmpl-abc",
        "object": "chat.completion.chunk",
        "created": 1727000000,
        "model": "gpt-4o-2024-08-06",
        "choices": [],
        "usage": {
            "prompt_tokens": 80,
            "completion_tokens": 40,
            "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    },
    "[DONE]",
)


def test_openai_tool_calls() -> None:
    assert collect("openai", OPENAI_TOOLS) == {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1727000000,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
                        },
                        {
                            "id": "call_2",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
                        },
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 80,
            "completion_tokens": 40,
            "total_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
        "system_fingerprint": "fp_1",
    }


def test_openai_text_choices_and_logprobs() -> None:
    token = {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}
    events = js(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hi"}, logprobs=None),
        chunk({"role": "assistant", "content": "Yo"}, index=1),
        chunk({}, "stop"),
        chunk({}, "length", index=1),
    )
    first = json.loads(events[1])
    first["choices"][0]["logprobs"] = {"content": [token], "refusal": None}
    events[1] = json.dumps(first)
    body = collect("openai", events)
    assert body is not None
    assert [c["message"]["content"] for c in body["choices"]] == ["Hi", "Yo"]
    assert [c["finish_reason"] for c in body["choices"]] == ["stop", "length"]
    assert body["choices"][0]["logprobs"] == {"content": [token]}
    assert "usage" not in body


def test_openai_reasoning_and_refusal() -> None:
    body = collect(
        "openai",
        js(
            chunk({"role": "assistant", "reasoning_content": "think"}),
            chunk({"reasoning_content": "ing"}),
            chunk({"refusal": "I can't"}),
            chunk({}, "content_filter"),
        ),
    )
    assert body is not None
    message = body["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "", "refusal": "I can't", "reasoning_content": "thinking"}


def test_openai_incomplete_or_error() -> None:
    assert collect("openai", OPENAI_TOOLS[:5]) is None  # no finish_reason
    assert collect("openai", []) is None
    assert collect("openai", js(chunk({"content": "x"}), {"error": {"message": "boom"}})) is None
    assert collect("openai", js(chunk({"content": "x"}), "{not json", chunk({}, "stop"))) is None
    assert collect("openai", js(chunk({"content": "x"}, index=1), chunk({}, "stop"))) is None  # choice 1 unfinished


ANTHROPIC_TOOLS = js(
    {
        "type": "message_start",
        "message": {
            "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "stop_sequence": None,
            "usage": {"input_tokens": 472, "cache_read_input_tokens": 100, "output_tokens": 2},
            "content": [],
            "stop_reason": None,
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I need the "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "weather."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Okay, let me check"}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": " the weather."}},
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {
            "type": "tool_use",
            "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "name": "get_weather",
            "input": {},
        },
    },
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"location":'}},
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": ' "San Francisco, CA"'},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": ', "unit": "fahrenheit"}'},
    },
    {"type": "content_block_stop", "index": 2},
    {
        "type": "content_block_start",
        "index": 3,
        "content_block": {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
    },
    {"type": "content_block_stop", "index": 3},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 89, "input_tokens": None},
    },
    {"type": "message_stop"},
)


def test_anthropic_tool_use_and_thinking() -> None:
    assert collect("anthropic", ANTHROPIC_TOOLS) == {
        "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "I need the weather.", "signature": "EqQBCgIYAhIM"},
            {"type": "text", "text": "Okay, let me check the weather."},
            {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {"location": "San Francisco, CA", "unit": "fahrenheit"},
            },
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 472, "cache_read_input_tokens": 100, "output_tokens": 89},
    }


def test_anthropic_stop_sequence_and_citations() -> None:
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    body = collect(
        "anthropic",
        js(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "c",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 1},
                },
            },
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": citation}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
            {"type": "content_block_stop", "index": 0},
            {
                "type": "message_delta",
                "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
                "usage": {"output_tokens": 4},
            },
            {"type": "message_stop"},
        ),
    )
    assert body is not None
    assert body["content"] == [{"type": "text", "text": "x", "citations": [citation]}]
    assert (body["stop_reason"], body["stop_sequence"]) == ("stop_sequence", "END")
    assert body["usage"] == {"input_tokens": 3, "output_tokens": 4}


def test_anthropic_incomplete_or_error() -> None:
    assert collect("anthropic", ANTHROPIC_TOOLS[:-2]) is None  # no message_delta: no stop reason
    assert collect("anthropic", ANTHROPIC_TOOLS[1:]) is None  # no message_start
    assert (
        collect(
            "anthropic",
            [
                *ANTHROPIC_TOOLS[:5],
                json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ],
        )
        is None
    )
    broken_json = [
        *ANTHROPIC_TOOLS[:12],
        json.dumps(
            {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"loc'}}
        ),
        *ANTHROPIC_TOOLS[-3:],
    ]
    assert collect("anthropic", broken_json) is None
    orphan = [
        ANTHROPIC_TOOLS[0],
        json.dumps({"type": "content_block_delta", "index": 5, "delta": {"type": "text_delta", "text": "x"}}),
    ]
    assert collect("anthropic", orphan) is None
