"""TimedRequest -> Record: which event is the first token, output tokens, chunk gaps, and failure classes."""

from __future__ import annotations

import json
from typing import Any

from relaycli.bench.analyze import analyze
from relaycli.core.formats import for_protocol
from relaycli.core.formats.common import Peer
from relaycli.errors import ExitCode
from relaycli.measure.engine import TimedRequest

OPENAI = for_protocol("openai")
ANTHROPIC = for_protocol("anthropic")

SSE = {"content-type": "text/event-stream", "x-request-id": "req_1"}
MS = 1_000_000


def event(obj: Any, name: str | None = None) -> bytes:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(obj)}\n\n".encode()


def chunk(
    content: str | None = None, *, role: bool = False, reasoning: str | None = None, finish: str | None = None
) -> bytes:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    return event({"id": "c", "model": "m-1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


USAGE = event({"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 3}})
DONE = b"data: [DONE]\n\n"


def exchange(
    pieces: list[tuple[int, bytes]], *, status: int = 200, headers: dict[str, str] | None = None
) -> TimedRequest:
    return TimedRequest(
        0,
        b"",
        t_send=0,
        t_headers=1 * MS,
        status=status,
        headers=headers or SSE,
        pieces=pieces,
        t_end=pieces[-1][0] + MS if pieces else 2 * MS,
    )


def test_a_role_only_or_empty_first_chunk_is_not_the_first_token() -> None:
    ex = exchange(
        [
            (2 * MS, chunk(role=True) + chunk("")),
            (5 * MS, chunk("Hel")),
            (7 * MS, chunk("lo") + chunk(" you")),
            (9 * MS, chunk(finish="stop") + USAGE + DONE),
        ]
    )
    rec = analyze(ex, fmt=OPENAI, target=0, seq=0)
    assert rec.ok and rec.t_first_token == 5 * MS and rec.t_last_token == 7 * MS
    assert rec.chunks == 3 and rec.gaps_ns == [2 * MS, 0]  # two events in one read: a gap of 0
    assert rec.output_tokens == 3 and not rec.tokens_estimated
    assert rec.request_id == "req_1" and rec.model == "m-1" and rec.finish_reason == "stop"


def test_reasoning_counts_as_the_first_token_and_missing_usage_is_estimated() -> None:
    ex = exchange(
        [(3 * MS, chunk(reasoning="thinking")), (4 * MS, chunk("answer")), (6 * MS, chunk(finish="stop") + DONE)]
    )
    rec = analyze(ex, fmt=OPENAI, target=1, seq=4)
    assert rec.ok and rec.t_first_token == 3 * MS and rec.output_tokens == 2 and rec.tokens_estimated
    assert (rec.target, rec.seq) == (1, 4)


def test_tool_call_arguments_count_as_content() -> None:
    call = event(
        {
            "id": "c",
            "choices": [
                {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": '{"a"'}}]}}
            ],
        }
    )
    ex = exchange([(2 * MS, call), (3 * MS, chunk(finish="tool_calls") + DONE)])
    assert analyze(ex, fmt=OPENAI, target=0, seq=0).t_first_token == 2 * MS


def test_event_split_across_reads_gets_the_time_of_the_read_that_completed_it() -> None:
    data = chunk("x")
    ex = exchange([(2 * MS, data[:10]), (8 * MS, data[10:]), (9 * MS, chunk(finish="stop") + DONE)])
    assert analyze(ex, fmt=OPENAI, target=0, seq=0).t_first_token == 8 * MS


def test_anthropic_stream() -> None:
    events = [
        event(
            {
                "type": "message_start",
                "message": {"id": "m", "model": "claude-x", "usage": {"input_tokens": 4, "output_tokens": 1}},
            },
            "message_start",
        ),
        event(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        event({"type": "ping"}, "ping"),
        event(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
            "content_block_delta",
        ),
        event(
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}},
            "message_delta",
        ),
        event({"type": "message_stop"}, "message_stop"),
    ]
    ex = exchange(
        [(2 * MS, b"".join(events[:3])), (6 * MS, events[3]), (7 * MS, b"".join(events[4:]))],
        headers={"content-type": "text/event-stream", "request-id": "req_a"},
    )
    rec = analyze(ex, fmt=ANTHROPIC, target=0, seq=0)
    assert rec.ok and rec.t_first_token == 6 * MS and rec.output_tokens == 7 and rec.request_id == "req_a"


def test_failure_classes() -> None:
    http = analyze(
        exchange(
            [(2 * MS, b'{"error": {"message": "slow down"}}')], status=429, headers={"content-type": "application/json"}
        ),
        fmt=OPENAI,
        target=0,
        seq=0,
    )
    assert http.error == "http_429" and http.detail == "slow down"
    cut = analyze(exchange([(2 * MS, chunk("a"))]), fmt=OPENAI, target=0, seq=0)
    assert cut.error == "truncated" and cut.t_first_token == 2 * MS
    bad = analyze(exchange([(2 * MS, b"data: {not json\n\n")]), fmt=OPENAI, target=0, seq=0)
    assert bad.error == "malformed"
    err = analyze(
        exchange([(2 * MS, event({"error": {"message": "boom", "type": "server_error"}}))]), fmt=OPENAI, target=0, seq=0
    )
    assert err.error == "stream_error"
    html = analyze(exchange([(2 * MS, b"<html>")], headers={"content-type": "text/html"}), fmt=OPENAI, target=0, seq=0)
    assert html.error == "not_sse"
    net = TimedRequest(0, b"", t_send=0, t_end=MS, error="refused", detail="Connection refused")
    assert analyze(net, fmt=OPENAI, target=0, seq=0).error == "network"

    def failed(kind: str) -> TimedRequest:
        return TimedRequest(0, b"", t_send=0, t_end=MS, error=kind, detail="it broke")

    def status(code: int) -> TimedRequest:
        return exchange(
            [(2 * MS, b'{"error": {"message": "no"}}')], status=code, headers={"content-type": "application/json"}
        )

    cases = {
        "network": failed("refused"),
        "tls": failed("tls"),
        "timeout": failed("timeout"),
        "http_401": status(401),
        "http_429": status(429),
        "http_503": status(503),
        "http_404": status(404),
        "protocol": failed("protocol"),
        "truncated": exchange([(2 * MS, chunk("a"))]),
        "malformed": exchange([(2 * MS, b"data: {not json\n\n")]),
        "stream_error": exchange([(2 * MS, event({"error": {"message": "boom", "type": "server_error"}}))]),
        "not_sse": exchange([(2 * MS, b"<html>")], headers={"content-type": "text/html"}),
    }
    peer = Peer("relay.test:443", "p", "sk-x")
    records = {label: analyze(ex, fmt=OPENAI, target=0, seq=0, peer=peer) for label, ex in cases.items()}
    assert {label: r.error for label, r in records.items()} == {label: label for label in cases}
    codes = {label: r.failure.exit_code for label, r in records.items() if r.failure is not None}
    assert codes == {
        "network": ExitCode.NETWORK,
        "tls": ExitCode.NETWORK,
        "timeout": ExitCode.TIMEOUT,
        "http_401": ExitCode.AUTH,
        "http_429": ExitCode.RATE_LIMITED,
        "http_503": ExitCode.ENDPOINT,
        "truncated": ExitCode.ENDPOINT,
        "http_404": ExitCode.ERROR,
        "protocol": ExitCode.ENDPOINT,
        "stream_error": ExitCode.ENDPOINT,
        "malformed": ExitCode.ENDPOINT,
        "not_sse": ExitCode.ENDPOINT,
    }
    # the same classes the httpx client raises, naming the host
    assert type(records["http_401"].failure).__name__ == "AuthError"
    assert type(records["stream_error"].failure).__name__ == "StreamError"
    assert type(records["truncated"].failure).__name__ == "TruncatedResponse"
    assert all("relay.test:443 (profile 'p')" in r.failure.message for r in records.values() if r.failure)


def test_a_json_answer_to_a_streamed_request_is_one_chunk() -> None:
    body = json.dumps(
        {
            "id": "x",
            "model": "m",
            "choices": [{"index": 0, "message": {"content": "hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2},
        }
    ).encode()
    rec = analyze(exchange([(4 * MS, body)], headers={"content-type": "application/json"}), fmt=OPENAI, target=0, seq=0)
    assert rec.ok and rec.t_first_token == rec.t_last_token == 4 * MS and rec.output_tokens == 2
