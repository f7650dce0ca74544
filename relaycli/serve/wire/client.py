"""The output side for a client of either protocol: ``for_client(protocol)`` and the functions that take the
protocol as their first argument."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relaycli.datatypes import Usage
from relaycli.serve.wire import anthropic_out, openai_out
from relaycli.serve.wire.collect import collect_anthropic, collect_openai
from relaycli.serve.wire.common import Protocol


class StreamWriter(typing.Protocol):
    """What both protocols' stream writers offer (``openai_out.StreamWriter``, ``anthropic_out.StreamWriter``):
    one per streamed response, each method returning the bytes to write."""

    content_type: str
    id: str

    source: Protocol  # the upstream's protocol, for its finish reason

    def raw(self, data: str, event: str | None = None) -> bytes: ...
    def done(self) -> bytes: ...
    def start(self) -> bytes: ...
    def text(self, text: str) -> bytes: ...
    def finish(self, finish_reason: str | None, usage: Usage) -> bytes: ...
    def broken(self, message: str, status: int = 502) -> bytes: ...


@dataclass(frozen=True)
class ClientWire:
    """Everything written to a client of one protocol: its ``StreamWriter`` class and body builders (the
    module-level functions below, without the protocol argument)."""

    protocol: Protocol
    StreamWriter: type[openai_out.StreamWriter] | type[anthropic_out.StreamWriter]
    complete: Callable[..., dict[str, Any]]
    collect: Callable[[list[str]], dict[str, Any] | None]
    error_body: Callable[..., dict[str, Any]]
    models_body: Callable[[list[tuple[str, str | None]]], dict[str, Any]]
    error_type: Callable[[int], str]


OPENAI = ClientWire(
    "openai",
    openai_out.StreamWriter,
    openai_out.complete,
    collect_openai,
    openai_out.error_body,
    openai_out.models_body,
    openai_out.error_type,
)
ANTHROPIC = ClientWire(
    "anthropic",
    anthropic_out.StreamWriter,
    anthropic_out.complete,
    collect_anthropic,
    anthropic_out.error_body,
    anthropic_out.models_body,
    anthropic_out.error_type,
)


def for_client(protocol: Protocol) -> ClientWire:
    """The output side for a client speaking ``protocol``."""
    return OPENAI if protocol == "openai" else ANTHROPIC


def stream_writer(
    protocol: Protocol, *, model: str, request_id: str | None, created: int, include_usage: bool, source: Protocol
) -> StreamWriter:
    """A new ``StreamWriter`` for one streamed response to a ``protocol`` client."""
    return for_client(protocol).StreamWriter(
        model=model, request_id=request_id, created=created, include_usage=include_usage, source=source
    )


def complete(
    protocol: Protocol,
    *,
    model: str,
    request_id: str | None,
    created: int,
    text: str,
    finish_reason: str | None,
    source: Protocol,
    usage: Usage,
) -> dict[str, Any]:
    """A non-streaming response body holding ``text``, for a ``protocol`` client (``finish_reason`` as
    the ``source`` upstream said it)."""
    return for_client(protocol).complete(
        model=model,
        request_id=request_id,
        created=created,
        text=text,
        finish_reason=finish_reason,
        source=source,
        usage=usage,
    )


def collect(protocol: Protocol, events: list[str]) -> dict[str, Any] | None:
    """The non-streaming response a ``protocol`` upstream's stream events make, or None if incomplete."""
    return for_client(protocol).collect(events)


def error_body(
    protocol: Protocol, status: int, message: str, kind: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """An error response body in ``protocol``'s shape; ``kind`` overrides the type derived from ``status``."""
    return for_client(protocol).error_body(status, message, kind, param)


def models_body(protocol: Protocol, models: list[tuple[str, str | None]]) -> dict[str, Any]:
    """The ``GET /v1/models`` body for ``(id, owner)`` pairs."""
    return for_client(protocol).models_body(models)
