"""A request translated to the other protocol and back keeps its meaning: the neutral fields and the
portable ones come back as they were."""

from __future__ import annotations

from relaycli.serve.wire import parse_anthropic, parse_openai

from .support import upstream_body

OPENAI_CLIENT = {
    "model": "gpt-x",
    "messages": [
        {"role": "system", "content": "sys one"},
        {"role": "system", "content": "sys two"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": [{"type": "text", "text": "part"}, {"type": "text", "text": "two"}]},
    ],
    "temperature": 0.4,
    "max_tokens": 128,
    "top_p": 0.9,
    "stop": ["END"],
    "user": "u-1",
}

ANTHROPIC_CLIENT = {
    "model": "claude-x",
    "max_tokens": 256,
    "system": "be exact",
    "temperature": 0.0,
    "top_p": 0.5,
    "stop_sequences": ["\n\nHuman:"],
    "metadata": {"user_id": "u-2"},
    "messages": [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
        {"role": "user", "content": "q2"},
    ],
}


def neutral(inc: object) -> tuple[object, ...]:
    return tuple(getattr(inc, k) for k in ("messages", "system", "temperature", "max_tokens"))


def test_openai_to_anthropic_and_back() -> None:
    first = parse_openai(OPENAI_CLIENT)
    there = parse_anthropic(upstream_body(first, "anthropic"))
    assert neutral(there) == neutral(first)
    assert there.untranslatable is None
    back = upstream_body(there, "openai", model="gpt-x")
    again = parse_openai(back)
    assert neutral(again) == neutral(first)
    assert (back["top_p"], back["stop"], back["user"]) == (0.9, ["END"], "u-1")
    assert again.params_for("anthropic") == first.params_for("anthropic")


def test_anthropic_to_openai_and_back() -> None:
    first = parse_anthropic(ANTHROPIC_CLIENT)
    there = parse_openai(upstream_body(first, "openai"))
    assert neutral(there) == neutral(first)
    assert there.untranslatable is None
    back = upstream_body(there, "anthropic", model="claude-x")
    again = parse_anthropic(back)
    assert neutral(again) == neutral(first)
    assert (back["top_p"], back["stop_sequences"], back["metadata"]) == (0.5, ["\n\nHuman:"], {"user_id": "u-2"})
    assert again.params_for("openai") == first.params_for("openai")


def test_same_protocol_round_trip_is_identity() -> None:
    inc = parse_anthropic(ANTHROPIC_CLIENT)
    assert upstream_body(inc, "anthropic", model="claude-x") == {**ANTHROPIC_CLIENT, "stream": True}
    inc = parse_openai(OPENAI_CLIENT)
    assert upstream_body(inc, "openai", model="gpt-x") == {
        **OPENAI_CLIENT,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
