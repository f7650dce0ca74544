"""What an Anthropic messages client is sent: stream events, response bodies, error bodies, the model list.
Pure: every function returns the body (or the bytes) to write.

Usage: the protocol requires ``input_tokens`` and ``output_tokens`` to be integers, so they are 0 when
relay does not know them (and in ``message_start`` of a synthesized stream, where nothing is known yet:
the real counts follow in ``message_delta``, as the API's own placeholder ``output_tokens`` does).
Counts the protocol does not require are left out when unknown.
"""

from __future__ import annotations

import json
import re
from typing import Any

from relaycli.datatypes import Usage
from relaycli.serve.wire.common import Protocol, anthropic_usage, dumps, encode, finish_for, response_id

PREFIX = "msg_"

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
# OpenAI's names for the same errors, as an Anthropic client knows them.
_FROM_OPENAI = {"server_error": "api_error", "insufficient_quota": "billing_error"}
_TYPE_FIRST = re.compile(r'\s*\{\s*"type"\s*:\s*"([A-Za-z0-9_]+)"')


def error_type(status: int) -> str:
    """The ``error.type`` for an HTTP status, as the messages API documents them."""
    known = _TYPES.get(status)
    if known:
        return known
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str, kind: str | None = None, param: str | None = None) -> dict[str, Any]:
    """``{"type": "error", "error": {"type", "message"}}``. ``kind``, when given, is the error type to
    report (an upstream's own; OpenAI's ``server_error`` is reported as ``api_error``). The protocol has
    no ``param``: it is accepted for symmetry and not written."""
    kind = _FROM_OPENAI.get(kind, kind) if kind else error_type(status)
    return {"type": "error", "error": {"type": kind, "message": message}}


def models_body(models: list[tuple[str, str | None]]) -> dict[str, Any]:
    """``GET /v1/models``, one page holding every model: ``display_name`` is the id and ``created_at`` the
    epoch (both are required and relay knows neither)."""
    data = [
        {"type": "model", "id": model, "display_name": model, "created_at": "1970-01-01T00:00:00Z"}
        for model, _owner in models
    ]
    return {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def complete(
    *,
    model: str,
    request_id: str | None,
    created: int,
    text: str,
    finish_reason: str | None,
    source: Protocol,
    usage: Usage,
) -> dict[str, Any]:
    """A non-streaming ``message`` holding ``text`` (``created`` is accepted for symmetry: a message has no
    timestamp)."""
    return {
        "id": response_id(PREFIX, request_id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": finish_for(finish_reason, source, "anthropic"),
        "stop_sequence": None,
        "usage": anthropic_usage(usage, required=True),
    }


def _event(name: str, data: bytes) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


_BLOCK_START = _event(
    "content_block_start", b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
)
_BLOCK_STOP = _event("content_block_stop", b'{"type":"content_block_stop","index":0}')
_MESSAGE_STOP = _event("message_stop", b'{"type":"message_stop"}')
_TEXT = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
)
_TEXT_TAIL = b"}}\n\n"


class StreamWriter:
    """The bytes of one streamed message, event by event.

    Pass-through (``raw`` ... ``done``) forwards an Anthropic upstream's events; synthesized mode
    (``start``, ``text``..., ``finish``) writes one text block for an answer from an OpenAI upstream or from
    relay's cache.
    """

    content_type = "text/event-stream"

    def __init__(
        self, *, model: str, request_id: str | None, created: int, include_usage: bool, source: Protocol
    ) -> None:
        self.id = response_id(PREFIX, request_id)
        self.model = model
        self.source: Protocol = source

    def raw(self, data: str, event: str | None = None) -> bytes:
        """One upstream event's data, as it came, under its event name: ``event`` when the caller has the
        upstream's, else the ``type`` the data names."""
        name = event if event and event != "message" and _plain(event) else _type_of(data)
        if "\n" in data or "\r" in data:
            lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            body = "".join(f"data: {line}\n" for line in lines)
            return (f"event: {name}\n" + body + "\n").encode("utf-8", "replace")
        return b"event: " + name.encode() + b"\ndata: " + data.encode("utf-8", "replace") + b"\n\n"

    def done(self) -> bytes:
        """Nothing: the upstream's ``message_stop`` was forwarded by ``raw``."""
        return b""

    def start(self) -> bytes:
        """``message_start`` and the ``content_block_start`` of the one text block."""
        message = {
            "type": "message_start",
            "message": {
                "id": self.id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
        }
        return _event("message_start", encode(message)) + _BLOCK_START

    def text(self, text: str) -> bytes:
        """One ``text_delta`` (nothing for empty text)."""
        if not text:
            return b""
        return _TEXT + dumps(text).encode("utf-8", "replace") + _TEXT_TAIL

    def finish(self, finish_reason: str | None, usage: Usage) -> bytes:
        """The clean end: ``content_block_stop``, ``message_delta`` with the stop reason (``end_turn`` when
        none is known) and the usage, ``message_stop``."""
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": finish_for(finish_reason, self.source, "anthropic"), "stop_sequence": None},
            "usage": anthropic_usage(usage, required=True),
        }
        return _BLOCK_STOP + _event("message_delta", encode(delta)) + _MESSAGE_STOP

    def broken(self, message: str, status: int = 502) -> bytes:
        """An ``error`` event for a stream that broke after it began; no ``message_stop`` follows, so the
        client knows the answer is incomplete."""
        error = {"type": "error", "error": {"type": error_type(status), "message": message}}
        return _event("error", encode(error))


def _plain(name: str) -> bool:
    return bool(name) and "\n" not in name and "\r" not in name


def _type_of(data: str) -> str:
    """The ``type`` an event's data names (Anthropic writes it first; anything else is parsed)."""
    match = _TYPE_FIRST.match(data)
    if match:
        return match.group(1)
    try:
        obj = json.loads(data)
    except ValueError:
        return "message"
    kind = obj.get("type") if isinstance(obj, dict) else None
    return kind if isinstance(kind, str) and _plain(kind) else "message"
