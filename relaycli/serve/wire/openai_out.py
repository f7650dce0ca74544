"""What an OpenAI chat-completions client is sent: stream chunks, response bodies, error bodies, the model
list. Pure: every function returns the body (or the bytes) to write."""

from __future__ import annotations

import json
from typing import Any

from relaycli.datatypes import Usage
from relaycli.serve.wire.common import Protocol, dumps, encode, finish_for, openai_usage, response_id

PREFIX = "chatcmpl-"
DONE = b"data: [DONE]\n\n"

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}
# Anthropic's names for the same errors, as an OpenAI client knows them.
_FROM_ANTHROPIC = {"api_error": "server_error", "request_too_large": "invalid_request_error"}


def error_type(status: int) -> str:
    """The ``error.type`` for an HTTP status: OpenAI's names, ``server_error`` for the 5xx ones."""
    known = _TYPES.get(status)
    if known:
        return known
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(status: int, message: str, kind: str | None = None, param: str | None = None) -> dict[str, Any]:
    """``{"error": {"message", "type", "param", "code"}}``. ``kind``, when given, is the error type to
    report (an upstream's own; Anthropic's ``api_error`` is reported as ``server_error``)."""
    kind = _FROM_ANTHROPIC.get(kind, kind) if kind else error_type(status)
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def models_body(models: list[tuple[str, str | None]]) -> dict[str, Any]:
    """``GET /v1/models``: ``owned_by`` is ``relay`` for a model whose owner is not known (the field is
    required)."""
    return {
        "object": "list",
        "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": owner or "relay"} for model, owner in models
        ],
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
    """A non-streaming ``chat.completion`` holding ``text``; ``usage`` is left out when nothing is known."""
    body: dict[str, Any] = {
        "id": response_id(PREFIX, request_id),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_for(finish_reason, source, "openai"),
            }
        ],
    }
    counts = openai_usage(usage)
    if counts is not None:
        body["usage"] = counts
    return body


class StreamWriter:
    """The bytes of one streamed chat completion, event by event.

    Pass-through (``raw`` ... ``done``) forwards an OpenAI upstream's chunks; synthesized mode (``start``,
    ``text``..., ``finish``) writes chunks for an answer from an Anthropic upstream or from relay's cache.
    When the client did not ask for usage (``stream_options.include_usage``), ``raw`` drops the usage-only
    chunk (``choices: []``) that relay asks OpenAI upstreams for, since such a client may not expect it.
    """

    content_type = "text/event-stream"

    def __init__(
        self, *, model: str, request_id: str | None, created: int, include_usage: bool, source: Protocol
    ) -> None:
        self.id = response_id(PREFIX, request_id)
        self.include_usage = include_usage
        self.source: Protocol = source
        head = dumps({"id": self.id, "object": "chat.completion.chunk", "created": created, "model": model})
        self._head = head[:-1]  # without its closing brace: more fields follow
        self._choice = ("data: " + self._head + ',"choices":[{"index":0,"delta":').encode()
        tail = ',"logprobs":null,"finish_reason":null}]' + (',"usage":null' if include_usage else "") + "}\n\n"
        self._tail = tail.encode()
        self._text = self._choice + b'{"content":'
        self._text_tail = b"}" + self._tail

    def raw(self, data: str, event: str | None = None) -> bytes:
        """One upstream chunk's data, as it came (``event`` is accepted for symmetry and not written)."""
        if not self.include_usage and '"choices":[]' in data and _usage_only(data):
            return b""
        if "\n" in data or "\r" in data:
            lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            return ("".join(f"data: {line}\n" for line in lines) + "\n").encode("utf-8", "replace")
        return b"data: " + data.encode("utf-8", "replace") + b"\n\n"

    def done(self) -> bytes:
        """The end marker after a pass-through that ended cleanly."""
        return DONE

    def start(self) -> bytes:
        """The first chunk of a synthesized stream: the assistant role."""
        return self._choice + b'{"role":"assistant","content":""}' + self._tail

    def text(self, text: str) -> bytes:
        """One text delta (nothing for empty text)."""
        if not text:
            return b""
        return self._text + dumps(text).encode("utf-8", "replace") + self._text_tail

    def finish(self, finish_reason: str | None, usage: Usage) -> bytes:
        """The clean end: the finish chunk, the usage chunk (when asked for; ``usage`` is null when nothing
        is known) and ``[DONE]``. A missing finish reason is reported as ``stop``."""
        reason = finish_for(finish_reason, self.source, "openai")
        end = self._choice + b'{},"logprobs":null,"finish_reason":' + encode(reason) + b"}]"
        out = end + (b',"usage":null}\n\n' if self.include_usage else b"}\n\n")
        if self.include_usage:
            out += b"data: " + self._head.encode() + b',"choices":[],"usage":' + encode(openai_usage(usage)) + b"}\n\n"
        return out + DONE

    def broken(self, message: str, status: int = 502) -> bytes:
        """An error event for a stream that broke after it began; no finish chunk and no ``[DONE]`` follow,
        so the client knows the answer is incomplete."""
        error = {"error": {"message": message, "type": error_type(status), "code": None}}
        return b"data: " + encode(error) + b"\n\n"


def _usage_only(data: str) -> bool:
    try:
        obj = json.loads(data)
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("choices") == [] and "usage" in obj
