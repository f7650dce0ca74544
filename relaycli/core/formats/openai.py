"""The OpenAI chat-completions wire format: build the request, parse responses and stream chunks.

Pure: no I/O. The client sends what ``build_request`` returns to ``{base_url}/chat/completions`` and
feeds each decoded SSE event to a ``StreamParser``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relaycli.core.formats.common import UNNAMED, Completion, Peer, as_int, as_str, load_json_object
from relaycli.datatypes import ChatRequest, Delta, ModelInfo, Usage
from relaycli.errors import EndpointError, StreamError

if TYPE_CHECKING:
    from relaycli.core.sse import SSEEvent

DONE = "[DONE]"
_loads = json.loads


_REASONING_MODEL = re.compile(r"^(?:[\w.-]+/)?(?:o\d|gpt-5)", re.IGNORECASE)


def max_tokens_field(model: str) -> str:
    """OpenAI's reasoning models (o1, o3, o4-mini, gpt-5, ...) refuse ``max_tokens`` and take
    ``max_completion_tokens``; every other chat-completions server takes ``max_tokens``."""
    return "max_completion_tokens" if _REASONING_MODEL.match(model) else "max_tokens"


def build_request(req: ChatRequest, *, include_usage: bool, token_field: str | None = None) -> dict[str, Any]:
    """The JSON body. The system prompt becomes the first message. ``token_field`` overrides the name
    of the output-token cap (learned from a server that rejected the usual one)."""
    messages: list[dict[str, str]] = []
    if req.system:
        messages.append({"role": "system", "content": req.system})
    messages.extend({"role": m.role, "content": m.content} for m in req.messages)
    body: dict[str, Any] = {"model": req.model, "messages": messages, "stream": req.stream}
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.max_tokens is not None:
        body[token_field or max_tokens_field(req.model)] = req.max_tokens
    body.update(req.params)
    if req.stream and include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def auth_headers(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def parse_usage(raw: Any) -> Usage:
    """Usage as reported; a field the endpoint did not send stays None (unknown), never 0."""
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("prompt_tokens_details")
    cached = as_int(details.get("cached_tokens")) if isinstance(details, dict) else None
    if cached is None:
        cached = as_int(raw.get("prompt_cache_hit_tokens"))  # DeepSeek's spelling
    return Usage(
        prompt_tokens=as_int(raw.get("prompt_tokens")),
        completion_tokens=as_int(raw.get("completion_tokens")),
        cached_tokens=cached,
        cache_write_tokens=None,
        raw=raw,
    )


def _stream_error(message: str, kind: object, peer: Peer) -> StreamError:
    error_type = str(kind) if kind not in (None, "") else None
    label = f" ({error_type})" if error_type and error_type not in message else ""
    return StreamError(f"{peer.name} reported an error: {message}{label}", error_type=error_type)


def error_in(obj: dict[str, Any], peer: Peer = UNNAMED) -> StreamError | None:
    """The error an endpoint put in a JSON payload of a 200 response, if any."""
    err = obj.get("error")
    if err:
        if isinstance(err, dict):
            message = as_str(err.get("message"))
            text = peer.scrub(message) if message else peer.said(json.dumps(err))
            return _stream_error(text, err.get("type") or err.get("code"), peer)
        return _stream_error(peer.said(str(err)), None, peer)
    if obj.get("object") == "error":  # vLLM
        message = as_str(obj.get("message"))
        text = peer.scrub(message) if message else peer.said(json.dumps(obj))
        return _stream_error(text, obj.get("type") or obj.get("code"), peer)
    return None


def _first_choice(obj: dict[str, Any]) -> dict[str, Any] | None:
    choices = obj.get("choices")
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return None


def _reasoning(part: dict[str, Any]) -> str | None:
    return as_str(part.get("reasoning_content")) or as_str(part.get("reasoning"))


def parse_response(body: dict[str, Any], peer: Peer = UNNAMED) -> Completion:
    """A non-streaming chat completion."""
    err = error_in(body, peer)
    if err is not None:
        raise err
    choice = _first_choice(body)
    if choice is None:
        raise EndpointError(f"malformed response from {peer.name} (no choices): {peer.said(json.dumps(body))!r}")
    message = choice.get("message")
    if not isinstance(message, dict):
        message = {}
    return Completion(
        text=as_str(message.get("content")) or "",
        model=as_str(body.get("model")),
        finish_reason=as_str(choice.get("finish_reason")),
        usage=parse_usage(body.get("usage")),
        response_id=as_str(body.get("id")),
        reasoning=_reasoning(message) or "",
    )


class StreamParser:
    """Turns chat-completion chunks into Deltas and remembers what the stream said about itself."""

    def __init__(self, peer: Peer = UNNAMED) -> None:
        self.peer = peer
        self.model: str | None = None
        self.response_id: str | None = None
        self.usage: Usage = Usage()
        self.finish_reason: str | None = None
        self.done = False  # data: [DONE] seen
        self.chunks = 0

    @property
    def complete(self) -> bool:
        return self.done and self.finish_reason is not None

    def feed(self, ev: SSEEvent) -> list[Delta]:
        # The hot path of every streamed answer (one call per chunk): plain lookups, one pass.
        data = ev.data
        if data[:1].isspace() or data[-1:].isspace():
            data = data.strip()
        if data == DONE:
            self.done = True
            return []
        if not data:
            return []
        try:
            obj = _loads(data)
        except ValueError:
            obj = None
        if type(obj) is not dict:
            obj = load_json_object(ev.data, what="stream chunk", peer=self.peer)  # raises the right error
        self.chunks += 1
        if obj.get("error") or obj.get("object") == "error":
            err = error_in(obj, self.peer)
            if err is not None:
                raise err
        if ev.event == "error":
            raise StreamError(f"{self.peer.name} reported an error: {self.peer.said(ev.data)}")
        if self.response_id is None:
            self.response_id = as_str(obj.get("id"))
        model = obj.get("model")
        if model and isinstance(model, str):
            self.model = model
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.usage = parse_usage(usage)
        choices = obj.get("choices")
        if type(choices) is list and len(choices) == 1 and type(choices[0]) is dict:
            choice = choices[0] if choices[0].get("index", 0) == 0 else None
        else:
            choice = _first_choice(obj)
        if choice is None:
            return []
        out: list[Delta] = []
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if "reasoning_content" in delta or "reasoning" in delta:
                reasoning = _reasoning(delta)
                if reasoning:
                    out.append(Delta(reasoning, "reasoning"))
            content = delta.get("content")
            if content and isinstance(content, str):
                out.append(Delta(content))
        finish = choice.get("finish_reason")
        if finish and isinstance(finish, str):
            self.finish_reason = finish
        return out


def parse_models(body: Any, peer: Peer = UNNAMED) -> list[ModelInfo]:
    """``GET /models``: ``{"data": [{"id", "owned_by", ...}]}`` (a bare list is accepted too)."""
    items = body.get("data") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise EndpointError(f"malformed model list from {peer.name} (no data array)")
    models: list[ModelInfo] = []
    for item in items:
        if not isinstance(item, dict) or not as_str(item.get("id")):
            continue
        window = next(
            (
                as_int(item.get(k))
                for k in ("context_window", "context_length", "max_model_len")
                if as_int(item.get(k)) is not None
            ),
            None,
        )
        extra = {k: v for k, v in item.items() if k not in ("id", "owned_by")}
        models.append(
            ModelInfo(id=item["id"], owned_by=as_str(item.get("owned_by")), context_window=window, extra=extra)
        )
    return models


class OpenAIFormat:
    """Chat completions (``{base}/chat/completions``, ``Authorization: Bearer``), as a ``WireFormat``."""

    name = "openai"
    end_marker = "data: [DONE]"
    finish_field = "a finish_reason"
    tool_marker = '"tool_calls"'

    def path(self, base_path: str, endpoint: str) -> str:
        return f"{base_path}/{'chat/completions' if endpoint == 'chat' else 'models'}"

    def models_params(self, after: str | None = None) -> dict[str, str]:
        return {}

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return auth_headers(key)

    def build_request(
        self, req: ChatRequest, *, include_usage: bool = True, token_field: str | None = None
    ) -> dict[str, Any]:
        return build_request(req, include_usage=include_usage, token_field=token_field)

    def parse_response(self, body: dict[str, Any], peer: Peer) -> Completion:
        return parse_response(body, peer)

    def stream_parser(self, peer: Peer) -> StreamParser:
        return StreamParser(peer)

    def is_end(self, ev: SSEEvent) -> bool:
        return ev.data.strip() == DONE

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("x-request-id") or headers.get("request-id") or None

    def parse_models(self, body: Any, peer: Peer) -> list[ModelInfo]:
        return parse_models(body, peer)

    def next_page(self, body: Any) -> str | None:
        return None


FORMAT = OpenAIFormat()
