"""Stop reasons, usage in each protocol's counters, response ids."""

from __future__ import annotations

import pytest

from relaycli.datatypes import Usage
from relaycli.serve.wire import map_finish
from relaycli.serve.wire.common import anthropic_usage, openai_usage, response_id


@pytest.mark.parametrize(
    ("openai", "anthropic"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_openai_to_anthropic(openai: str, anthropic: str) -> None:
    assert map_finish(openai, "openai", "anthropic") == anthropic


@pytest.mark.parametrize(
    ("anthropic", "openai"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_anthropic_to_openai(anthropic: str, openai: str) -> None:
    assert map_finish(anthropic, "anthropic", "openai") == openai


def test_same_protocol_none_and_unknown_unchanged() -> None:
    assert map_finish("end_turn", "anthropic", "anthropic") == "end_turn"
    assert map_finish("stop", "openai", "openai") == "stop"
    assert map_finish("weird", "openai", "openai") == "weird"
    assert map_finish(None, "openai", "anthropic") is None
    assert map_finish("error", "openai", "anthropic") == "error"


def test_openai_usage() -> None:
    assert openai_usage(Usage(prompt_tokens=100, completion_tokens=20, cached_tokens=30)) == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "prompt_tokens_details": {"cached_tokens": 30},
    }


def test_openai_usage_unknown_stays_unknown() -> None:
    assert openai_usage(Usage()) is None
    assert openai_usage(Usage(prompt_tokens=5)) == {"prompt_tokens": 5}
    assert openai_usage(Usage(completion_tokens=0)) == {"completion_tokens": 0}


def test_anthropic_usage_splits_the_input() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=50, cached_tokens=600, cache_write_tokens=300)
    assert anthropic_usage(usage) == {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 600,
        "cache_creation_input_tokens": 300,
    }


def test_anthropic_usage_write_lifetimes() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=1, cache_write_tokens=300, cache_write_1h_tokens=100)
    assert anthropic_usage(usage)["cache_creation"] == {
        "ephemeral_5m_input_tokens": 200,
        "ephemeral_1h_input_tokens": 100,
    }


def test_anthropic_usage_unknown_stays_unknown() -> None:
    assert anthropic_usage(Usage()) == {}
    assert anthropic_usage(Usage(completion_tokens=3)) == {"output_tokens": 3}
    assert anthropic_usage(Usage(prompt_tokens=10)) == {"input_tokens": 10}
    # only where the protocol requires an integer
    assert anthropic_usage(Usage(), required=True) == {"input_tokens": 0, "output_tokens": 0}


def test_response_ids() -> None:
    assert response_id("msg_", "msg_01ABC") == "msg_01ABC"
    assert response_id("chatcmpl-", "req-7") == "chatcmpl-req-7"
    made = response_id("chatcmpl-", None)
    assert made.startswith("chatcmpl-") and len(made) == len("chatcmpl-") + 24
    assert response_id("msg_", None) != response_id("msg_", None)
