"""Anthropic's prompt-cache writes by lifetime: 5-minute and 1-hour writes reported apart."""

from __future__ import annotations

from typing import Any

from relaycli.core.formats import anthropic
from relaycli.core.sse import SSEDecoder

from .support import sse

SPLIT_USAGE = {
    "input_tokens": 10,
    "cache_creation_input_tokens": 3000,
    "cache_read_input_tokens": 500,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 1,
}


def _stream(usage: dict[str, Any]) -> anthropic.StreamParser:
    start = {
        "type": "message_start",
        "message": {"id": "msg_1", "model": "claude-test", "content": [], "stop_reason": None, "usage": usage},
    }
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}
    parser = anthropic.StreamParser()
    decoder = SSEDecoder()
    body = sse(("message_start", start), ("message_delta", delta), ("message_stop", {"type": "message_stop"}))
    for ev in decoder.feed(body):
        parser.feed(ev)
    return parser


def test_message_start_reports_one_hour_writes_apart() -> None:
    u = _stream(SPLIT_USAGE).usage
    assert u.cache_write_tokens == 3000  # the total, as before
    assert u.cache_write_1h_tokens == 2000
    assert u.prompt_tokens == 10 + 3000 + 500 and u.completion_tokens == 7


def test_a_complete_response_reports_one_hour_writes_apart() -> None:
    done = anthropic.parse_response(
        {
            "id": "msg_1",
            "model": "claude-test",
            "content": [],
            "stop_reason": "end_turn",
            "usage": {**SPLIT_USAGE, "output_tokens": 7},
        }
    )
    assert (done.usage.cache_write_tokens, done.usage.cache_write_1h_tokens) == (3000, 2000)


def test_without_the_breakdown_every_write_is_a_five_minute_one() -> None:
    usage = {"input_tokens": 10, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 0, "output_tokens": 1}
    u = _stream(usage).usage
    assert (u.cache_write_tokens, u.cache_write_1h_tokens) == (300, 0)


def test_no_cache_counts_stay_unknown() -> None:
    u = _stream({"input_tokens": 10, "output_tokens": 1}).usage
    assert u.cache_write_tokens is None and u.cache_write_1h_tokens is None


def test_a_breakdown_without_the_total_gives_the_total() -> None:
    usage = {
        "input_tokens": 10,
        "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 6},
        "output_tokens": 1,
    }
    u = anthropic.normalize_usage(usage)
    assert (u.cache_write_tokens, u.cache_write_1h_tokens, u.prompt_tokens) == (10, 6, 20)


def test_a_breakdown_without_a_one_hour_count_is_five_minute_writes() -> None:
    for breakdown in ({"ephemeral_5m_input_tokens": 5}, {}):
        usage = {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_creation": breakdown, "output_tokens": 1}
        assert anthropic.normalize_usage(usage).cache_write_1h_tokens == 0
