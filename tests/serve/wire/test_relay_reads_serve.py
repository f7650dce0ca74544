"""What serve writes, read back by relay's own client: the SSE decoder and each format's stream parser get
the same text, finish reason and usage, whatever the byte splits."""

from __future__ import annotations

import pytest

from relaycli.core.formats import anthropic, openai
from relaycli.core.sse import SSEDecoder
from relaycli.datatypes import Usage
from relaycli.errors import StreamError
from relaycli.serve.wire import Protocol, map_finish, stream_writer

TEXT = ["Hel", "lo, ", "wörld ✓", ' "quoted"\nnew line\u2028sep']
USAGES = [
    Usage(prompt_tokens=120, completion_tokens=17, cached_tokens=40),
    Usage(
        prompt_tokens=1000, completion_tokens=5, cached_tokens=600, cache_write_tokens=300, cache_write_1h_tokens=100
    ),
    Usage(prompt_tokens=8, completion_tokens=3),
]


def read(client: Protocol, raw: bytes, split: int) -> tuple[str, openai.StreamParser | anthropic.StreamParser]:
    parser = openai.StreamParser() if client == "openai" else anthropic.StreamParser()
    decoder = SSEDecoder()
    text = []
    for at in range(0, len(raw), split):
        for ev in decoder.feed(raw[at : at + split]):
            text.extend(d.text for d in parser.feed(ev) if d.kind == "text")
    assert not decoder.pending
    return "".join(text), parser


def same_usage(got: Usage, want: Usage, client: Protocol) -> None:
    assert (got.prompt_tokens, got.completion_tokens, got.cached_tokens) == (
        want.prompt_tokens,
        want.completion_tokens,
        want.cached_tokens,
    )
    if client == "anthropic":  # OpenAI's usage has no cache writes
        assert got.cache_write_tokens == want.cache_write_tokens
        if want.cache_write_1h_tokens is not None:
            assert got.cache_write_1h_tokens == want.cache_write_1h_tokens


@pytest.mark.parametrize("client", ["openai", "anthropic"])
@pytest.mark.parametrize("source", ["openai", "anthropic"])
@pytest.mark.parametrize("usage", USAGES)
@pytest.mark.parametrize("split", [1, 7, 10_000])
def test_synthesized_stream_reads_back(client: Protocol, source: Protocol, usage: Usage, split: int) -> None:
    reason = "length" if source == "openai" else "max_tokens"
    w = stream_writer(client, model="m", request_id=None, created=1, include_usage=True, source=source)
    raw = w.start() + b"".join(w.text(t) for t in TEXT) + w.finish(reason, usage)
    text, parser = read(client, raw, split)
    assert text == "".join(TEXT)
    assert parser.complete
    assert parser.finish_reason == map_finish(reason, source, client)
    assert parser.model == "m"
    assert parser.response_id == w.id
    same_usage(parser.usage, usage, client)


@pytest.mark.parametrize("client", ["openai", "anthropic"])
def test_broken_stream_is_an_error_to_relay(client: Protocol) -> None:
    w = stream_writer(client, model="m", request_id="r", created=1, include_usage=True, source="openai")
    raw = w.start() + w.text("part") + w.broken("upstream went away")
    with pytest.raises(StreamError) as caught:
        read(client, raw, 5)
    assert "upstream went away" in str(caught.value)


def test_openai_without_usage_reads_back_unknown() -> None:
    w = stream_writer("openai", model="m", request_id="r", created=1, include_usage=True, source="anthropic")
    _, parser = read("openai", w.start() + w.text("x") + w.finish("end_turn", Usage()), 3)
    assert parser.complete
    assert parser.usage == Usage()


OPENAI_UPSTREAM = [
    '{"id":"chatcmpl-up","object":"chat.completion.chunk","created":9,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}',
    '{"id":"chatcmpl-up","object":"chat.completion.chunk","created":9,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null}',
    '{"id":"chatcmpl-up","object":"chat.completion.chunk","created":9,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}',
    '{"id":"chatcmpl-up","object":"chat.completion.chunk","created":9,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}',
]
ANTHROPIC_UPSTREAM = [
    '{"type":"message_start","message":{"id":"msg_up","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":9,"cache_read_input_tokens":3,"output_tokens":1}}}',
    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
    '{"type": "ping"}',
    '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}',
    '{"type":"content_block_stop","index":0}',
    '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}',
    '{"type":"message_stop"}',
]


@pytest.mark.parametrize(
    ("client", "upstream", "usage", "reason"),
    [
        ("openai", OPENAI_UPSTREAM, Usage(prompt_tokens=9, completion_tokens=1), "stop"),
        ("anthropic", ANTHROPIC_UPSTREAM, Usage(prompt_tokens=12, completion_tokens=2, cached_tokens=3), "end_turn"),
    ],
)
def test_pass_through_reads_back(client: Protocol, upstream: list[str], usage: Usage, reason: str) -> None:
    w = stream_writer(client, model="m", request_id="r", created=1, include_usage=True, source=client)
    raw = b"".join(w.raw(data) for data in upstream) + w.done()
    text, parser = read(client, raw, 4)
    assert text == "Hi"
    assert parser.complete
    assert parser.finish_reason == reason
    assert (parser.usage.prompt_tokens, parser.usage.completion_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert parser.response_id in ("chatcmpl-up", "msg_up")
