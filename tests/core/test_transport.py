"""The stream's narrow dependencies: a Transport with injected clocks, one wire format per profile, and
errors that name the host from the moment they are built."""

from __future__ import annotations

import httpx
import pytest

from relaycli.core.formats import anthropic, for_protocol, openai
from relaycli.core.formats.common import Peer
from relaycli.core.sse import SSEEvent
from relaycli.core.transport import Transport
from relaycli.datatypes import ChatRequest, Message
from relaycli.errors import ConfigError, StreamError

from .support import SECRET, Harness, openai_stream, profile, sse_response

REQ = ChatRequest(model="gpt-test", messages=(Message("user", "hi"),))


def test_the_stream_holds_a_transport_and_takes_its_time_from_the_injected_clocks() -> None:
    h = Harness(lambda request: sse_response(openai_stream("Hi")), wall=0.25)
    stream = h.client.stream(REQ)
    assert isinstance(stream._c, Transport) and stream._c is h.client.transport
    h.clock.advance(2)
    for _ in stream:
        pass
    result = stream.result()
    assert result.timing.started_at == "1970-01-01T00:00:00.250+00:00"
    assert result.timing.t_start == 1_000_000_000 and result.timing.t_end == 3_000_000_000


def test_one_format_per_protocol() -> None:
    assert for_protocol("openai") is openai.FORMAT and for_protocol("anthropic") is anthropic.FORMAT
    assert openai.FORMAT.path("/v1", "chat") == "/v1/chat/completions"
    assert anthropic.FORMAT.path("/v1", "chat") == "/v1/messages"
    assert anthropic.FORMAT.models_params("m1") == {"limit": "1000", "after_id": "m1"}
    headers = httpx.Headers({"request-id": "a", "x-request-id": "b"})
    assert (openai.FORMAT.request_id(headers), anthropic.FORMAT.request_id(headers)) == ("b", "a")
    with pytest.raises(ConfigError, match="unknown protocol"):
        for_protocol("gopher")


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_parsers_name_the_host_and_never_quote_the_key(protocol: str) -> None:
    peer = Peer("relay.test", "holysheep", SECRET)
    parser = for_protocol(protocol).stream_parser(peer)
    event = SSEEvent("error", '{"type": "error", "error": {"type": "x", "message": "bad key ' + SECRET + '"}}')
    with pytest.raises(StreamError) as info:
        parser.feed(event)
    assert info.value.message.startswith("relay.test (profile 'holysheep') reported an error: bad key ***")


def test_a_stream_error_names_the_host_without_rewriting_its_text() -> None:
    body = b'data: {"error": {"message": "the endpoint is overloaded", "type": "invalid_request_error"}}\n\n'
    h = Harness(lambda request: sse_response(body), prof=profile(retries=0))
    with pytest.raises(StreamError) as info:
        h.client.complete(REQ)
    assert info.value.message == (
        "relay.test (profile 'holysheep') reported an error: the endpoint is overloaded (invalid_request_error)"
    )
