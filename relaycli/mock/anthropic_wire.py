"""The Anthropic messages protocol as the local relay speaks it."""

from __future__ import annotations

import secrets
from typing import Any

from relaycli.mock.answer import MODELS, count_words
from relaycli.mock.wire import (
    Chat,
    Protocol,
    Reply,
    WireError,
    dumps,
    dumps_str,
    last_user_text,
    max_tokens_field,
    messages_field,
    model_field,
    stream_field,
    text_of,
)

_ANTHROPIC_FAILURES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Mock failure: the request was rejected."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Mock failure: not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit. Please try again later."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


class AnthropicProtocol(Protocol):
    name = "anthropic"
    request_id_header = "request-id"
    ping = b'event: ping\ndata: {"type": "ping"}\n\n'

    def parse(self, body: Any, *, counting: bool = False) -> Chat:
        """A messages request; ``counting``: a ``count_tokens`` body, which has no ``max_tokens``."""
        if not isinstance(body, dict):
            raise WireError(400, "invalid_request_error", "There was an issue with the format of your JSON body.")
        model = model_field(body)
        max_tokens = None if counting else max_tokens_field(body, "max_tokens")
        if max_tokens is None and not counting:
            raise WireError(400, "invalid_request_error", "max_tokens: Field required")
        messages = messages_field(body, frozenset({"user", "assistant"}))
        stream = stream_field(body)
        system = text_of(body.get("system"))
        texts = ([system] if system else []) + [text_of(message.get("content")) for message in messages]
        return Chat(
            model=model,
            n_messages=len(messages) + (1 if system else 0),
            prompt_tokens=sum(count_words(text) for text in texts),
            prompt="\n".join(texts),
            last_user_text=last_user_text(messages),
            stream=stream,
            max_tokens=max_tokens,
            include_usage=True,
            has_stream_options=False,
        )

    def error(self, status: int, err_type: str, message: str, code: str | None = None) -> bytes:
        return dumps({"type": "error", "error": {"type": err_type, "message": message}})

    def fail_error(self, status: int) -> bytes:
        default = ("api_error" if status >= 500 else "invalid_request_error", f"Mock failure: HTTP {status}.")
        err_type, message = _ANTHROPIC_FAILURES.get(status, default)
        return self.error(status, err_type, message)

    def model_not_found(self, model: str) -> WireError:
        return WireError(404, "not_found_error", f"model: {model}")

    def auth_error(self, *, missing: bool) -> WireError:
        message = "x-api-key header is required" if missing else "invalid x-api-key"
        return WireError(401, "authentication_error", message)

    def reply(self, chat: Chat, *, no_usage: bool, cache_writes: tuple[int, int] = (0, 0)) -> Reply:
        return _AnthropicReply(chat, no_usage=no_usage, cache_writes=cache_writes)


def anthropic_models() -> bytes:
    data = [{"type": "model", "id": m.id, "display_name": m.display_name, "created_at": m.created_at} for m in MODELS]
    return dumps({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})


def _event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


class _AnthropicReply(Reply):
    def __init__(self, chat: Chat, *, no_usage: bool, cache_writes: tuple[int, int] = (0, 0)) -> None:
        self.chat = chat
        self.no_usage = no_usage
        self.cache_writes = cache_writes
        self.id = "msg_" + secrets.token_hex(12)
        self._token_prefix = (
            b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":'
        )
        self._token_suffix = b"}}\n\n"

    def _usage(self, n_tokens: int) -> dict[str, Any]:
        five, one = self.cache_writes
        usage: dict[str, Any] = {
            "input_tokens": self.chat.prompt_tokens,
            "cache_creation_input_tokens": five + one,
            "cache_read_input_tokens": 0,
            "output_tokens": n_tokens,
        }
        if five or one:  # the writes by lifetime, as the messages API reports them
            usage["cache_creation"] = {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": one}
        return usage

    def _message(self, content: list[dict[str, str]], stop_reason: str | None, n_tokens: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.chat.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
        }
        message["usage"] = self._usage(n_tokens)
        return message

    def completion(self, tokens: tuple[str, ...], truncated: bool) -> bytes:
        content = [{"type": "text", "text": "".join(tokens)}]
        return dumps(self._message(content, "max_tokens" if truncated else "end_turn", len(tokens)))

    def start(self) -> bytes:
        message = self._message([], None, 1)
        if self.no_usage:
            del message["usage"]
        return b"".join(
            (
                _event("message_start", dumps_str({"type": "message_start", "message": message})),
                _event(
                    "content_block_start",
                    '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
                ),
                AnthropicProtocol.ping,
            )
        )

    def reasoning(self, text: str) -> bytes:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": text}}
        return _event("content_block_delta", dumps_str(delta))

    def token(self, text: str) -> bytes:
        return self._token_prefix + dumps_str(text).encode() + self._token_suffix

    def finish(self, n_tokens: int, truncated: bool) -> bytes:
        delta: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens" if truncated else "end_turn", "stop_sequence": None},
        }
        if not self.no_usage:
            delta["usage"] = {"output_tokens": n_tokens}
        return b"".join(
            (
                _event("content_block_stop", '{"type":"content_block_stop","index":0}'),
                _event("message_delta", dumps_str(delta)),
                _event("message_stop", '{"type":"message_stop"}'),
            )
        )

    def error_event(self) -> bytes:
        return _event("error", self.error_body().decode())

    def error_body(self) -> bytes:
        return b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'

    def malformed_event(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"ty\n\n'


ANTHROPIC = AnthropicProtocol()
