"""The protocol translation layer of ``relay serve``: client request bodies (OpenAI chat completions,
Anthropic messages) into relay's neutral request plus upstream body fields, and relay's answers back into
either protocol's responses, stream events and errors. Pure: no I/O."""

from relaycli.serve.wire.anthropic_in import parse_anthropic
from relaycli.serve.wire.client import (
    ClientWire,
    StreamWriter,
    collect,
    complete,
    error_body,
    for_client,
    models_body,
    stream_writer,
)
from relaycli.serve.wire.common import BadRequest, CrossProtocol, Incoming, Protocol, map_finish, passed_headers
from relaycli.serve.wire.openai_in import parse_openai

__all__ = [
    "BadRequest",
    "ClientWire",
    "CrossProtocol",
    "Incoming",
    "Protocol",
    "StreamWriter",
    "collect",
    "complete",
    "error_body",
    "for_client",
    "map_finish",
    "models_body",
    "parse_anthropic",
    "parse_openai",
    "passed_headers",
    "stream_writer",
]
