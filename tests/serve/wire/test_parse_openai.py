"""OpenAI chat-completions client bodies: neutral fields, validation, what translates and what does not."""

from __future__ import annotations

from typing import Any

import pytest

from relaycli.datatypes import Message
from relaycli.serve.wire import BadRequest, CrossProtocol, parse_openai

from .support import upstream_body


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}], **extra}


def test_neutral_fields() -> None:
    inc = parse_openai(
        {
            "model": "gpt-x",
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.5,
            "max_tokens": 99,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "developer", "content": [{"type": "text", "text": "and kind"}]},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "more"},
            ],
        }
    )
    assert inc.protocol == "openai"
    assert inc.model == "gpt-x"
    assert inc.stream is True
    assert inc.include_usage is True
    assert inc.system == "be brief\n\nand kind"
    assert inc.messages == (Message("user", "a\nb"), Message("assistant", "ok"), Message("user", "more"))
    assert inc.temperature == 0.5
    assert inc.max_tokens == 99
    assert inc.untranslatable is None


def test_defaults() -> None:
    inc = parse_openai(body())
    assert (inc.stream, inc.include_usage, inc.system, inc.temperature, inc.max_tokens) == (
        False,
        False,
        None,
        None,
        None,
    )


def test_max_completion_tokens_is_the_cap() -> None:
    inc = parse_openai(body(max_completion_tokens=77))
    assert inc.max_tokens == 77
    assert inc.params_for("anthropic") == {}
    assert upstream_body(inc, "anthropic")["max_tokens"] == 77


@pytest.mark.parametrize(
    ("value", "param"),
    [
        ([], None),
        ("text", None),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "", "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": 3, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text"),
        ({"model": "m", "messages": [{"role": "user", "content": ["x"]}]}, "messages[0].content[0]"),
        ({"model": "m", "messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": []}]}, "messages[0].content"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None}]},
            "messages[1].content",
        ),
        (body(stream_options={"include_usage": "yes"}), "stream_options.include_usage"),
        (body(stream="yes"), "stream"),
        (body(temperature="hot"), "temperature"),
        (body(temperature=True), "temperature"),
        (body(max_tokens=1.5), "max_tokens"),
        (body(max_tokens=0), "max_tokens"),
        (body(max_completion_tokens="9"), "max_completion_tokens"),
        (body(stream_options=[]), "stream_options"),
        (body(stop=5), "stop"),
        (body(top_p="high"), "top_p"),
        (body(user=7), "user"),
    ],
)
def test_bad_bodies(value: Any, param: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_openai(value)
    assert caught.value.param == param
    assert not isinstance(caught.value, CrossProtocol)


def test_assistant_content_may_be_null_beside_tool_calls() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    inc = parse_openai(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c", "content": ""},
            ],
        }
    )
    assert inc.messages[1:] == (Message("assistant", ""), Message("user", ""))
    assert inc.untranslatable == "tool calls"


def test_portable_fields_for_anthropic() -> None:
    inc = parse_openai(
        body(
            top_p=0.9,
            stop="END",
            user="u-1",
            top_k=40,
            store=False,
            metadata={"k": "v"},
            service_tier="auto",
            n=1,
            logprobs=False,
            response_format={"type": "text"},
            frequency_penalty=0,
            presence_penalty=0.0,
            logit_bias={},
            tool_choice="none",
            parallel_tool_calls=True,
            prompt_cache_key="k",
            seed=None,
        )
    )
    assert inc.untranslatable is None
    assert inc.params_for("anthropic") == {
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-1"},
        "top_k": 40,
    }


def test_stop_list_and_safety_identifier() -> None:
    inc = parse_openai(body(stop=["a", "b"], safety_identifier="s-1"))
    assert inc.params_for("anthropic") == {"stop_sequences": ["a", "b"], "metadata": {"user_id": "s-1"}}
    both = parse_openai(body(safety_identifier="s-1", user="u-1"))
    assert both.params_for("anthropic") == {"metadata": {"user_id": "u-1"}}
    assert parse_openai(body(user="")).params_for("anthropic") == {}
    with pytest.raises(BadRequest) as caught:
        parse_openai(body(user="u", safety_identifier=3))
    assert caught.value.param == "safety_identifier"


def test_params_for_returns_a_copy() -> None:
    inc = parse_openai(body(stop=["a"]))
    inc.params_for("anthropic")["stop_sequences"].append("b")
    assert inc.params_for("anthropic") == {"stop_sequences": ["a"]}


TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (body(tools=TOOLS), "tools"),
        (body(functions=[{"name": "f"}]), "tools"),
        (body(tool_choice="required"), "tools"),
        (body(tool_choice={"type": "function", "function": {"name": "f"}}), "tools"),
        (body(n=2), "the field 'n'"),
        (body(logprobs=True), "the field 'logprobs'"),
        (body(top_logprobs=3), "the field 'top_logprobs'"),
        (body(response_format={"type": "json_object"}), "the field 'response_format'"),
        (body(modalities=["text", "audio"]), "the field 'modalities'"),
        (body(audio={"voice": "alloy", "format": "mp3"}), "the field 'audio'"),
        (body(frequency_penalty=0.5), "the field 'frequency_penalty'"),
        (body(presence_penalty=-1), "the field 'presence_penalty'"),
        (body(logit_bias={"50256": -100}), "the field 'logit_bias'"),
        (body(seed=7), "the field 'seed'"),
        (body(reasoning_effort="high"), "the field 'reasoning_effort'"),
        (body(verbosity="low"), "the field 'verbosity'"),
        (body(web_search_options={}), "the field 'web_search_options'"),
        (body(repetition_penalty=1.1), "the field 'repetition_penalty'"),
        (body(temperature=1.5), "a temperature above 1 (Anthropic's maximum)"),
        ({"model": "m", "messages": [{"role": "user", "content": [IMAGE]}]}, "image content"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "audio content",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "file", "file": {}}]}]}, "file content"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]},
            "content parts of type 'video'",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                ],
            },
            "tool calls",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "weather?"},
                    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                ],
            },
            "tool results",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}, {"role": "function", "name": "f", "content": "1"}],
            },
            "tool results",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x", "name": "ann"}]}, "participant names"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "The"}]},
            "a final assistant message (Anthropic would continue it rather than answer)",
        ),
    ],
)
def test_untranslatable(value: dict[str, Any], reason: str) -> None:
    inc = parse_openai(value)
    assert inc.untranslatable == reason
    with pytest.raises(CrossProtocol) as caught:
        inc.params_for("anthropic")
    assert caught.value.reason == reason
    assert reason in caught.value.message
    assert isinstance(caught.value, BadRequest)
    assert inc.params_for("openai")["messages"] == value["messages"]  # the same protocol still takes it


def test_untranslatable_messages_keep_neutral_text() -> None:
    inc = parse_openai(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "what is this?"}, IMAGE]},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
                {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "42"}]},
            ],
        }
    )
    assert inc.messages == (Message("user", "what is this?"), Message("assistant", ""), Message("user", "42"))
    assert inc.untranslatable == "image content"


def test_same_protocol_params_are_the_body_verbatim() -> None:
    client = {
        "model": "gpt-x",
        "stream": True,
        "stream_options": {"include_usage": False},
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": [{"type": "text", "text": "what?"}, IMAGE]},
        ],
        "tools": TOOLS,
        "tool_choice": "auto",
        "top_p": 0.5,
        "stop": "x",
        "n": 2,
        "logprobs": True,
        "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {}}},
        "seed": 1,
        "user": "u",
        "max_completion_tokens": 10,
        "vendor_extra": {"a": [1, 2]},
    }
    inc = parse_openai(client)
    params = inc.params_for("openai")
    assert params == {k: v for k, v in client.items() if k not in ("model", "stream", "stream_options")}
    sent = upstream_body(inc, "openai", model="gpt-x")
    for key, value in params.items():
        assert sent[key] == value
    assert sent["model"] == "gpt-x"
    assert sent["stream"] is True


def test_translated_body_for_anthropic() -> None:
    inc = parse_openai(
        {
            "model": "gpt-x",
            "messages": [
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "more"},
            ],
            "temperature": 0.3,
            "max_tokens": 64,
            "top_p": 0.8,
            "stop": "STOP",
            "user": "u-9",
        }
    )
    assert upstream_body(inc, "anthropic", model="claude-x") == {
        "model": "claude-x",
        "max_tokens": 64,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "more"},
        ],
        "stream": True,
        "system": "sys",
        "temperature": 0.3,
        "top_p": 0.8,
        "stop_sequences": ["STOP"],
        "metadata": {"user_id": "u-9"},
    }
