"""What a streamed answer writes: upstream events passed through once content begins, or an answer written
from deltas; the preamble held back so a failure before content can still be retried."""

from __future__ import annotations

import pytest

from relaycli.datatypes import Delta, Usage
from relaycli.errors import OutputClosed
from relaycli.serve import wire
from relaycli.serve.channel import Channel
from relaycli.serve.passing import Passing


def _passing(protocol: wire.Protocol = "openai") -> tuple[Passing, Channel]:
    channel = Channel()
    writer = wire.for_client(protocol).StreamWriter(
        model="m", request_id="r1", created=0, include_usage=True, source=protocol
    )
    return Passing(channel, writer, protocol), channel


def _written(channel: Channel) -> bytes:
    return b"".join(channel._parts)


ROLE = '{"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}'
TEXT = '{"id":"c1","choices":[{"index":0,"delta":{"content":"Hi"}}]}'


def test_the_preamble_waits_for_content_then_events_pass_through_as_sent() -> None:
    passing, channel = _passing()
    passing.events("openai", ROLE)
    assert not passing.shown() and _written(channel) == b""
    passing.events("openai", TEXT)
    passing.sink(Delta("Hi"))
    assert passing.shown()
    assert _written(channel) == f"data: {ROLE}\n\ndata: {TEXT}\n\n".encode()
    passing.finish("stop", "openai", Usage())
    assert _written(channel).endswith(b"data: [DONE]\n\n")


def test_a_restart_before_content_forgets_the_held_preamble() -> None:
    passing, channel = _passing()
    passing.events("openai", ROLE)
    passing.sink(Delta("", "restart"))
    passing.events("openai", TEXT)
    passing.sink(Delta("Hi"))
    assert _written(channel) == f"data: {TEXT}\n\n".encode()


def test_an_answer_without_upstream_events_is_written_from_deltas() -> None:
    passing, channel = _passing("anthropic")
    passing.sink(Delta("Hello"))
    passing.finish("stop", "openai", Usage(prompt_tokens=3, completion_tokens=1))
    out = _written(channel).decode()
    assert out.startswith("event: message_start")
    assert '"text":"Hello"' in out
    assert '"stop_reason":"end_turn"' in out and out.rstrip().endswith('{"type":"message_stop"}')


def test_events_of_the_other_protocol_are_not_passed_on() -> None:
    passing, channel = _passing("anthropic")
    passing.events("openai", TEXT)  # a fallback profile that speaks OpenAI
    passing.sink(Delta("Hi"))
    assert "event: message_start" in _written(channel).decode()
    assert TEXT not in _written(channel).decode()


def test_a_broken_answer_ends_with_the_error_event_and_no_done() -> None:
    passing, channel = _passing()
    passing.events("openai", TEXT)
    passing.sink(Delta("Hi"))
    passing.broken("the upstream broke off", 502)
    out = _written(channel).decode()
    assert '"error"' in out and "[DONE]" not in out


def test_a_cancelled_request_raises_at_its_next_event() -> None:
    passing, channel = _passing()
    channel.cancel()
    assert passing.cancelled()
    with pytest.raises(OutputClosed):
        passing.events("openai", ROLE)
    with pytest.raises(OutputClosed):
        passing.sink(Delta("x"))


def test_the_clean_end_is_written_once_and_nothing_follows_it() -> None:
    """relay serve ends a response as soon as the upstream's answer ended well, before its row is written;
    the pipeline's own end (or a failure in what follows) writes nothing more."""
    for protocol in ("openai", "anthropic"):
        passing, channel = _passing(protocol)  # type: ignore[arg-type]
        passing.sink(Delta("Hi"))
        passing.finish("stop", protocol, Usage(prompt_tokens=3, completion_tokens=1))  # type: ignore[arg-type]
        assert passing.finished
        ended = _written(channel)
        passing.finish("stop", protocol, Usage(prompt_tokens=3, completion_tokens=1))  # type: ignore[arg-type]
        passing.broken("usage not recorded", 500)
        assert _written(channel) == ended
