"""The OpenAI chat-completions protocol as the local relay speaks it."""

from __future__ import annotations

import secrets
import time
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

_OPENAI_FAILURES: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Mock failure: the request was rejected."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: ("invalid_request_error", None, "Mock failure: not found."),
    408: ("timeout", None, "Request timed out."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


class OpenAIProtocol(Protocol):
    name = "openai"
    request_id_header = "x-request-id"
    ping = b": ping\n\n"

    def parse(self, body: Any) -> Chat:
        if not isinstance(body, dict):
            raise WireError(400, "invalid_request_error", "We could not parse the JSON body of your request.")
        model = model_field(body)
        messages = messages_field(body, _ROLES)
        stream = stream_field(body)
        limits = [
            limit
            for limit in (
                max_tokens_field(body, "max_tokens"),
                max_tokens_field(body, "max_completion_tokens"),
            )
            if limit is not None
        ]
        stream_options = body.get("stream_options")
        if stream_options is not None and not stream:
            raise WireError(
                400,
                "invalid_request_error",
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            )
        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        texts = [text_of(message.get("content")) for message in messages]
        return Chat(
            model=model,
            n_messages=len(messages),
            prompt_tokens=sum(count_words(text) for text in texts),
            prompt="\n".join(texts),
            last_user_text=last_user_text(messages),
            stream=stream,
            max_tokens=min(limits) if limits else None,
            include_usage=include_usage,
            has_stream_options=stream_options is not None,
        )

    def error(self, status: int, err_type: str, message: str, code: str | None = None) -> bytes:
        return dumps({"error": {"message": message, "type": err_type, "param": None, "code": code}})

    def fail_error(self, status: int) -> bytes:
        default_type = "server_error" if status >= 500 else "invalid_request_error"
        err_type, code, message = _OPENAI_FAILURES.get(status, (default_type, None, f"Mock failure: HTTP {status}."))
        return self.error(status, err_type, message, code)

    def model_not_found(self, model: str) -> WireError:
        return WireError(404, "invalid_request_error", f"The model `{model}` does not exist", "model_not_found")

    def auth_error(self, *, missing: bool) -> WireError:
        if missing:
            return WireError(
                401,
                "invalid_request_error",
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        return WireError(401, "invalid_request_error", "Incorrect API key provided.", "invalid_api_key")

    def reply(self, chat: Chat, *, no_usage: bool, cache_writes: tuple[int, int] = (0, 0)) -> Reply:
        return _OpenAIReply(chat, no_usage=no_usage)  # chat completions report no cache writes


def openai_models() -> bytes:
    return dumps(
        {
            "object": "list",
            "data": [{"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by} for m in MODELS],
        }
    )


_OPENAI_STREAM_ERROR = {
    "message": "Mock failure: the upstream provider failed mid-stream.",
    "type": "server_error",
    "code": "upstream_error",
}


class _OpenAIReply(Reply):
    def __init__(self, chat: Chat, *, no_usage: bool) -> None:
        self.chat = chat
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.usage_in_stream = chat.include_usage and not no_usage
        meta = (
            f'"id":"{self.id}","object":"chat.completion.chunk","created":{self.created},'
            f'"model":{dumps_str(chat.model)},"system_fingerprint":"fp_mock"'
        )
        self._meta = meta
        self._usage_tail = ',"usage":null' if self.usage_in_stream else ""
        self._token_prefix = f'data: {{{meta},"choices":[{{"index":0,"delta":{{"content":'.encode()
        self._token_suffix = f'}},"logprobs":null,"finish_reason":null}}]{self._usage_tail}}}\n\n'.encode()

    def _usage(self, n_tokens: int) -> dict[str, Any]:
        prompt = self.chat.prompt_tokens
        return {
            "prompt_tokens": prompt,
            "completion_tokens": n_tokens,
            "total_tokens": prompt + n_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def completion(self, tokens: tuple[str, ...], truncated: bool) -> bytes:
        return dumps(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.chat.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                        "logprobs": None,
                        "finish_reason": "length" if truncated else "stop",
                    }
                ],
                "usage": self._usage(len(tokens)),
                "system_fingerprint": "fp_mock",
            }
        )

    def _chunk(self, delta: str, finish: str) -> bytes:
        return (
            f'data: {{{self._meta},"choices":[{{"index":0,"delta":{delta},"logprobs":null,'
            f'"finish_reason":{finish}}}]{self._usage_tail}}}\n\n'
        ).encode()

    def start(self) -> bytes:
        return self._chunk('{"role":"assistant","content":"","refusal":null}', "null")

    def reasoning(self, text: str) -> bytes:
        return self._chunk('{"reasoning_content":' + dumps_str(text) + "}", "null")

    def token(self, text: str) -> bytes:
        return self._token_prefix + dumps_str(text).encode() + self._token_suffix

    def finish(self, n_tokens: int, truncated: bool) -> bytes:
        parts = [self._chunk("{}", '"length"' if truncated else '"stop"')]
        if self.usage_in_stream:
            usage = dumps_str(self._usage(n_tokens))
            parts.append(f'data: {{{self._meta},"choices":[],"usage":{usage}}}\n\n'.encode())
        parts.append(b"data: [DONE]\n\n")
        return b"".join(parts)

    def error_event(self) -> bytes:
        return b"data: " + self.error_body() + b"\n\n"

    def error_body(self) -> bytes:
        return dumps({"error": _OPENAI_STREAM_ERROR})

    def malformed_event(self) -> bytes:
        return f'data: {{{self._meta},"choices":[{{"index":0,"delta":{{"content":\n\n'.encode()


OPENAI = OpenAIProtocol()
