"""Anthropic messages client bodies: neutral fields, validation, what translates and what does not."""

from __future__ import annotations

from typing import Any

import pytest

from relaycli.datatypes import Message
from relaycli.serve.wire import BadRequest, CrossProtocol, parse_anthropic

from .support import upstream_body


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **extra}


def test_neutral_fields() -> None:
    inc = parse_anthropic(
        {
            "model": "claude-x",
            "max_tokens": 512,
            "stream": True,
            "temperature": 0.2,
            "system": [
                {"type": "text", "text": "you are terse", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "and exact"},
            ],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
                {"role": "user", "content": "more"},
            ],
        }
    )
    assert inc.protocol == "anthropic"
    assert inc.stream is True
    assert inc.include_usage is True
    assert inc.system == "you are terse\nand exact"
    assert inc.messages == (Message("user", "a\nb"), Message("assistant", "ok"), Message("user", "more"))
    assert (inc.temperature, inc.max_tokens) == (0.2, 512)
    assert inc.untranslatable is None


def test_string_system_and_defaults() -> None:
    inc = parse_anthropic(body(system="sys"))
    assert inc.system == "sys"
    assert inc.stream is False
    assert parse_anthropic(body(system="")).system is None
    assert parse_anthropic(body()).system is None


@pytest.mark.parametrize(
    ("value", "param"),
    [
        (None, None),
        ([1], None),
        ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": None, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": "5", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 5}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": None}]}, "messages[0].content"),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "messages[0].content[0]",
        ),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        (body(system=5), "system"),
        (body(system=[{"type": "image", "source": {}}]), "system[0]"),
        (body(system=[{"type": "text"}]), "system[0].text"),
        (body(stream=1), "stream"),
        (body(temperature="0.1"), "temperature"),
    ],
)
def test_bad_bodies(value: Any, param: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_anthropic(value)
    assert caught.value.param == param


def test_bad_portable_types() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_anthropic(body(stop_sequences=[1]))
    assert caught.value.param == "stop_sequences"
    with pytest.raises(BadRequest):
        parse_anthropic(body(metadata="u"))


def test_portable_fields_for_openai() -> None:
    inc = parse_anthropic(
        body(
            top_p=0.7,
            stop_sequences=["\n\nHuman:", "END"],
            metadata={"user_id": "u-1"},
            service_tier="auto",
            thinking={"type": "disabled"},
            tool_choice={"type": "auto"},
            tools=[],
        )
    )
    assert inc.untranslatable is None
    assert inc.params_for("openai") == {"top_p": 0.7, "stop": ["\n\nHuman:", "END"], "user": "u-1"}


def test_translated_body_for_openai() -> None:
    inc = parse_anthropic(
        {
            "model": "claude-x",
            "max_tokens": 300,
            "system": "sys",
            "temperature": 1,
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "more"},
            ],
            "stop_sequences": ["END"],
        }
    )
    assert upstream_body(inc, "openai", model="gpt-4o") == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "more"},
        ],
        "stream": True,
        "temperature": 1,
        "max_tokens": 300,
        "stop": ["END"],
        "stream_options": {"include_usage": True},
    }
    # a reasoning model takes the cap as max_completion_tokens (relay's own choice of field)
    assert upstream_body(inc, "openai", model="o3-mini")["max_completion_tokens"] == 300


TOOLS = [{"name": "get_weather", "description": "d", "input_schema": {"type": "object", "properties": {}}}]
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}


def convo(*content: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": list(content)}]}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (body(tools=TOOLS), "tools"),
        (body(tool_choice={"type": "any"}), "tools"),
        (body(tools=TOOLS, tool_choice={"type": "auto"}), "tools"),
        (body(thinking={"type": "enabled", "budget_tokens": 2000}), "extended thinking"),
        (body(top_k=5), "the field 'top_k'"),
        (body(mcp_servers=[{"type": "url", "url": "https://x", "name": "x"}]), "the field 'mcp_servers'"),
        (body(container="c"), "the field 'container'"),
        (convo({"type": "text", "text": "what?"}, IMAGE), "image content"),
        (convo({"type": "document", "source": {"type": "text", "data": "d", "media_type": "text/plain"}}), "documents"),
        (convo({"type": "tool_result", "tool_use_id": "toolu_1", "content": "15 degrees"}), "tool results"),
        (convo({"type": "search_result", "source": "s", "title": "t", "content": []}), "search results"),
        (convo({"type": "audio_thing"}), "content blocks of type 'audio_thing'"),
        (
            {
                "model": "m",
                "max_tokens": 9,
                "messages": [
                    {"role": "user", "content": "weather?"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
                ],
            },
            "tool calls",
        ),
        (
            {
                "model": "m",
                "max_tokens": 9,
                "messages": [
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                            {"type": "text", "text": "x"},
                        ],
                    },
                    {"role": "user", "content": "go on"},
                ],
            },
            "thinking blocks",
        ),
        (
            {
                "model": "m",
                "max_tokens": 9,
                "messages": [{"role": "user", "content": "JSON please"}, {"role": "assistant", "content": "{"}],
            },
            "a final assistant message (a prefill, which an OpenAI model would answer rather than continue)",
        ),
    ],
)
def test_untranslatable(value: dict[str, Any], reason: str) -> None:
    inc = parse_anthropic(value)
    assert inc.untranslatable == reason
    with pytest.raises(CrossProtocol) as caught:
        inc.params_for("openai")
    assert caught.value.reason == reason
    assert "Anthropic messages request" in caught.value.message
    assert inc.params_for("anthropic")["messages"] == value["messages"]


def test_untranslatable_messages_keep_neutral_text() -> None:
    inc = parse_anthropic(convo({"type": "text", "text": "describe"}, IMAGE))
    assert inc.messages == (Message("user", "describe"),)
    inc = parse_anthropic(convo({"type": "tool_result", "tool_use_id": "t", "content": "x"}))
    assert inc.messages == (Message("user", ""),)


def test_same_protocol_params_are_the_body_verbatim() -> None:
    client = {
        "model": "claude-x",
        "max_tokens": 1024,
        "stream": False,
        "system": [{"type": "text", "text": "long context", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    IMAGE,
                    {"type": "text", "text": "what is it?", "cache_control": {"type": "ephemeral"}},
                ],
            }
        ],
        "tools": TOOLS,
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "top_k": 3,
        "metadata": {"user_id": "u"},
        "stop_sequences": ["x"],
    }
    inc = parse_anthropic(client)
    params = inc.params_for("anthropic")
    assert params == {k: v for k, v in client.items() if k not in ("model", "stream")}
    sent = upstream_body(inc, "anthropic", model="claude-x")
    assert sent == {**client, "stream": True}
