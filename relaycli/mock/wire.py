"""The two protocols as the local relay speaks them: request validation, error bodies, model lists,
complete responses and stream events, byte for byte in the shapes the real APIs use (see WIRE.md)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

dumps_str = json.JSONEncoder(separators=(",", ":")).encode


def dumps(obj: Any) -> bytes:
    return dumps_str(obj).encode()


class WireError(Exception):
    """A request the protocol rejects: answered with ``status`` and the protocol's error body."""

    def __init__(self, status: int, err_type: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.err_type = err_type
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Chat:
    """A validated chat request, protocol-neutral."""

    model: str
    n_messages: int
    """Messages received, the system prompt included."""
    prompt_tokens: int
    prompt: str
    last_user_text: str
    stream: bool
    max_tokens: int | None
    include_usage: bool
    has_stream_options: bool


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def max_tokens_field(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WireError(400, "invalid_request_error", f"{name}: must be an integer >= 1, got {value!r}")
    return value


def messages_field(body: dict[str, Any], roles: frozenset[str]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "invalid_request_error", "messages: a non-empty list of messages is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in roles:
            role = message.get("role") if isinstance(message, dict) else None
            if role == "system" and "system" not in roles:
                raise WireError(
                    400,
                    "invalid_request_error",
                    'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
                    'parameter, not "system" as an input message role.',
                )
            raise WireError(400, "invalid_request_error", f"messages.{index}.role: invalid role {role!r}")
    return messages


def stream_field(body: dict[str, Any]) -> bool:
    stream = body.get("stream", False)
    if stream is None:
        return False
    if not isinstance(stream, bool):
        raise WireError(400, "invalid_request_error", f"stream: must be a boolean, got {stream!r}")
    return stream


def model_field(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise WireError(400, "invalid_request_error", "model: you must provide a model parameter")
    return model


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def request_id() -> str:
    return "req_" + secrets.token_hex(12)


class Protocol:
    """What differs between the two wire formats, as seen by the server."""

    name: ClassVar[str]
    request_id_header: ClassVar[str]
    ping: ClassVar[bytes]
    """The keep-alive sent while a stream waits or stalls."""

    def parse(self, body: Any) -> Chat:
        raise NotImplementedError

    def error(self, status: int, err_type: str, message: str, code: str | None = None) -> bytes:
        raise NotImplementedError

    def fail_error(self, status: int) -> bytes:
        """The error body sent for the ``fail`` knob."""
        raise NotImplementedError

    def model_not_found(self, model: str) -> WireError:
        raise NotImplementedError

    def auth_error(self, *, missing: bool) -> WireError:
        raise NotImplementedError

    def reply(self, chat: Chat, *, no_usage: bool, cache_writes: tuple[int, int] = (0, 0)) -> Reply:
        """``cache_writes``: the (5-minute, 1-hour) prompt-cache writes to report, where the protocol can."""
        raise NotImplementedError


class Reply:
    """One answer's bytes: a complete JSON body or the events of a stream."""

    def completion(self, tokens: tuple[str, ...], truncated: bool) -> bytes:
        raise NotImplementedError

    def start(self) -> bytes:
        raise NotImplementedError

    def token(self, text: str) -> bytes:
        raise NotImplementedError

    def finish(self, n_tokens: int, truncated: bool) -> bytes:
        raise NotImplementedError

    def reasoning(self, text: str) -> bytes:
        """One reasoning delta (OpenAI ``reasoning_content``, Anthropic ``thinking_delta``)."""
        raise NotImplementedError

    def error_event(self) -> bytes:
        raise NotImplementedError

    def error_body(self) -> bytes:
        """The same error as ``error_event``, as a complete JSON body (non-streaming ``error_after``)."""
        raise NotImplementedError

    def malformed_event(self) -> bytes:
        raise NotImplementedError


HTML_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>{status} {reason}</title></head>\n<body>\n"
    "<center><h1>{status} {reason}</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
)


def directive_text(body: Any) -> str:
    """The last user message's text from a request body that may not validate (for ``[[mock: ...]]``)."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return ""
    return last_user_text([message for message in body["messages"] if isinstance(message, dict)])
