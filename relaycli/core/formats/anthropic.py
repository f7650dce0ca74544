"""The Anthropic messages wire format: same interface as ``openai.py``.

Pure: no I/O. The client sends what ``build_request`` returns to ``{root}/v1/messages`` with
``auth_headers`` and feeds each decoded SSE event to a ``StreamParser``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relaycli.core.formats.common import UNNAMED, Completion, Peer, as_int, as_str, load_json_object
from relaycli.datatypes import ChatRequest, Delta, ModelInfo, Usage
from relaycli.errors import EndpointError, StreamError

if TYPE_CHECKING:
    from relaycli.core.sse import SSEEvent

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


def build_request(req: ChatRequest, *, include_usage: bool = True, token_field: str | None = None) -> dict[str, Any]:
    """The JSON body. ``include_usage`` is accepted for symmetry: the messages API always reports usage."""
    systems = [req.system] if req.system else []
    messages: list[dict[str, str]] = []
    for m in req.messages:
        if m.role == "system":
            systems.append(m.content)  # the messages API has no system role: it is a top-level field
        else:
            messages.append({"role": m.role, "content": m.content})
    body: dict[str, Any] = {
        "model": req.model,
        "max_tokens": req.max_tokens if req.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
        "stream": req.stream,
    }
    if systems:
        body["system"] = "\n\n".join(systems)
    if req.temperature is not None:
        body["temperature"] = req.temperature
    body.update(req.params)
    return body


def auth_headers(key: str | None) -> dict[str, str]:
    headers = {"anthropic-version": API_VERSION}
    if key:
        headers["x-api-key"] = key
    return headers


def normalize_usage(raw: dict[str, Any] | None, *, output_known: bool = True) -> Usage:
    """Anthropic counters in relay's meaning: ``prompt_tokens`` includes cache reads and writes."""
    if not raw:
        return Usage()
    inp = as_int(raw.get("input_tokens"))
    write, write_1h = cache_writes(raw)
    read = as_int(raw.get("cache_read_input_tokens"))
    prompt = None if inp is None else inp + (write or 0) + (read or 0)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=as_int(raw.get("output_tokens")) if output_known else None,
        cached_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=write_1h,
        raw=dict(raw),
    )


def cache_writes(raw: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """``(all cache writes, 1-hour cache writes)`` of a usage object; ``None`` where unknown.

    ``cache_creation`` splits the total ``cache_creation_input_tokens`` into
    ``ephemeral_5m_input_tokens`` and ``ephemeral_1h_input_tokens``. Without a 1-hour count every write
    is a 5-minute one (the API's meaning before 1-hour writes existed), so it is 0 once any write count
    is known. Without the total, the breakdown's sum is the total.
    """
    total = as_int(raw.get("cache_creation_input_tokens"))
    split = raw.get("cache_creation")
    five = one = None
    if isinstance(split, Mapping):
        five = as_int(split.get("ephemeral_5m_input_tokens"))
        one = as_int(split.get("ephemeral_1h_input_tokens"))
    if total is None and (five is not None or one is not None):
        total = (five or 0) + (one or 0)
    if one is None and total is not None:
        one = 0
    return total, one


def error_in(obj: dict[str, Any], peer: Peer = UNNAMED) -> StreamError | None:
    """``{"type": "error", "error": {"type", "message"}}`` as a StreamError, if that is what this is."""
    if obj.get("type") != "error" and not obj.get("error"):
        return None
    err = obj.get("error")
    if isinstance(err, dict):
        kind = as_str(err.get("type"))
        said = as_str(err.get("message"))
        message = peer.scrub(said) if said else kind or peer.said(json.dumps(err))
    else:
        kind = None
        message = peer.said(str(err)) if err else peer.said(json.dumps(obj))
    label = f" ({kind})" if kind and kind not in message else ""
    return StreamError(f"{peer.name} reported an error: {message}{label}", error_type=kind)


def parse_response(body: dict[str, Any], peer: Peer = UNNAMED) -> Completion:
    """A non-streaming messages response."""
    err = error_in(body, peer)
    if err is not None:
        raise err
    content = body.get("content")
    if not isinstance(content, list):
        raise EndpointError(f"malformed response from {peer.name} (no content): {peer.said(json.dumps(body))!r}")
    text: list[str] = []
    thinking: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            text.append(as_str(block.get("text")) or "")
        elif block.get("type") == "thinking":
            thinking.append(as_str(block.get("thinking")) or "")
    usage = body.get("usage")
    return Completion(
        text="".join(text),
        model=as_str(body.get("model")),
        finish_reason=as_str(body.get("stop_reason")),
        usage=normalize_usage(usage if isinstance(usage, dict) else None),
        response_id=as_str(body.get("id")),
        reasoning="".join(thinking),
    )


class StreamParser:
    """Turns messages-API events into Deltas and keeps the message's state."""

    def __init__(self, peer: Peer = UNNAMED) -> None:
        self.peer = peer
        self.model: str | None = None
        self.response_id: str | None = None
        self.finish_reason: str | None = None
        self.done = False  # message_stop seen
        self.pings = 0
        self._usage: dict[str, Any] = {}
        self._output_known = False

    @property
    def complete(self) -> bool:
        return self.done and self.finish_reason is not None

    @property
    def usage(self) -> Usage:
        return normalize_usage(self._usage, output_known=self._output_known)

    def feed(self, ev: SSEEvent) -> list[Delta]:
        if not ev.data.strip():
            return []
        peer = self.peer
        obj = load_json_object(ev.data, what="stream event", peer=peer)
        kind = obj.get("type") if isinstance(obj.get("type"), str) else ev.event
        if kind == "error" or ev.event == "error":
            raise error_in(obj, peer) or StreamError(f"{peer.name} reported an error: {peer.said(ev.data)}")
        if kind == "ping":
            self.pings += 1
        elif kind == "message_start":
            self._message_start(obj.get("message"))
        elif kind == "content_block_start":
            block = obj.get("content_block")
            if isinstance(block, dict):
                return self._content(block.get("type"), block)
        elif kind == "content_block_delta":
            delta = obj.get("delta")
            if isinstance(delta, dict):
                return self._content(delta.get("type"), delta)
        elif kind == "message_delta":
            delta = obj.get("delta")
            if isinstance(delta, dict) and as_str(delta.get("stop_reason")):
                self.finish_reason = delta["stop_reason"]
            usage = obj.get("usage")
            if isinstance(usage, dict):
                self._usage.update(usage)  # cumulative counts: overwrite, never add
                self._output_known = self._output_known or "output_tokens" in usage
        elif kind == "message_stop":
            self.done = True
        return []  # content_block_stop and unknown events carry nothing relay needs

    def _message_start(self, message: Any) -> None:
        if not isinstance(message, dict):
            return
        self.model = as_str(message.get("model")) or self.model
        self.response_id = as_str(message.get("id")) or self.response_id
        usage = message.get("usage")
        if isinstance(usage, dict):
            self._usage = dict(usage)  # its output_tokens is a placeholder until message_delta
            self._output_known = False
        if as_str(message.get("stop_reason")):
            self.finish_reason = message["stop_reason"]

    @staticmethod
    def _content(kind: Any, part: dict[str, Any]) -> list[Delta]:
        if kind in ("text", "text_delta"):
            text = as_str(part.get("text"))
            return [Delta(text)] if text else []
        if kind in ("thinking", "thinking_delta"):
            thinking = as_str(part.get("thinking"))
            return [Delta(thinking, "reasoning")] if thinking else []
        return []  # input_json_delta, signature_delta, citations_delta, ...


def parse_models(body: Any, peer: Peer = UNNAMED) -> list[ModelInfo]:
    """One page of ``GET /v1/models``: ``{"data": [{"id", "display_name", ...}], "has_more", "last_id"}``."""
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise EndpointError(f"malformed model list from {peer.name} (no data array)")
    models: list[ModelInfo] = []
    for item in items:
        if not isinstance(item, dict) or not as_str(item.get("id")):
            continue
        extra = {k: v for k, v in item.items() if k != "id"}
        models.append(ModelInfo(id=item["id"], owned_by="anthropic", extra=extra))
    return models


def next_page(body: Any) -> str | None:
    """The ``after_id`` for the next page, or None when this was the last one."""
    if isinstance(body, dict) and body.get("has_more") is True:
        return as_str(body.get("last_id"))
    return None


class AnthropicFormat:
    """Messages (``{root}/v1/messages``, ``x-api-key``, ``anthropic-version``), as a ``WireFormat``."""

    name = "anthropic"
    end_marker = "message_stop"
    finish_field = "a stop_reason"
    tool_marker = '"input_json_delta"'

    def path(self, base_path: str, endpoint: str) -> str:
        root = base_path[:-3] if base_path.endswith("/v1") else base_path
        return f"{root}/v1/{'messages' if endpoint == 'chat' else 'models'}"

    def models_params(self, after: str | None = None) -> dict[str, str]:
        return {"limit": "1000", **({"after_id": after} if after else {})}

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
        return ev.event == "message_stop"

    def request_id(self, headers: Mapping[str, str]) -> str | None:
        return headers.get("request-id") or headers.get("x-request-id") or None

    def parse_models(self, body: Any, peer: Peer) -> list[ModelInfo]:
        return parse_models(body, peer)

    def next_page(self, body: Any) -> str | None:
        return next_page(body)


FORMAT = AnthropicFormat()
