"""One finished exchange -> one ``Record``: the event stream decoded and parsed after the request ended,
each event stamped with the time of the socket read that completed it.

Parsing after the fact keeps the socket loop free while requests are in flight (see ``measure.engine``); the
timestamps are the same as if each event had been parsed the moment its last byte was read.

A failed request's ``Record.failure`` is the same RelayError the httpx client raises for that failure (built
by the same functions, naming the host, with the key scrubbed); ``Record.error`` is its stable label for
counting (``http_NNN``, ``timeout``, ``network``, ``tls``, ``truncated``, ``malformed``, ``stream_error``,
``not_sse``, ``protocol``, ``interrupted``, ``empty``) and ``Record.detail`` what the endpoint said.

An empty answer (HTTP 200 and a proper end, but no content and 0 output tokens: LiteLLM sends one when its
upstream cuts off) is the error ``empty``: it has no first token, and counted as a success it would make a
target look fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from relaycli.core.formats import WireFormat
from relaycli.core.formats.common import UNNAMED, Peer, load_json_object, short
from relaycli.core.formats.error_body import error_message
from relaycli.core.scrub import scrub_error
from relaycli.core.sse import SSEDecoder
from relaycli.core.status import status_error
from relaycli.datatypes import Usage
from relaycli.errors import EndpointError, RelayError, StreamError, TruncatedResponse
from relaycli.measure.engine import TimedRequest
from relaycli.measure.sockets import exchange_error

NETWORK_KINDS = frozenset({"dns", "refused", "reset", "network"})
EMPTY = "empty"  # HTTP 200, a complete answer, no content and 0 output tokens


@dataclass(slots=True)
class Record:
    """What one bench request did. Times are ``perf_counter_ns`` values; ``None``: did not happen."""

    target: int
    seq: int
    warmup: bool = False
    t_sched: int | None = None
    t_send: int = 0
    t_headers: int | None = None
    t_first_token: int | None = None
    t_last_token: int | None = None
    t_end: int = 0
    status: int = 0
    error: str | None = None  # failure label: http_NNN, timeout, network, tls, truncated, malformed, ...
    detail: str = ""
    failure: RelayError | None = None  # the error itself (None when ok, or interrupted)
    output_tokens: int | None = None
    tokens_estimated: bool = False
    usage: Usage = field(default_factory=Usage)
    chunks: int = 0
    gaps_ns: list[int] = field(default_factory=list)
    request_id: str | None = None
    model: str | None = None
    finish_reason: str | None = None
    reused: bool = False
    connect_ns: int | None = None
    tls_ns: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def analyze(
    ex: TimedRequest,
    *,
    fmt: WireFormat,
    target: int,
    seq: int,
    warmup: bool = False,
    peer: Peer = UNNAMED,
    key_source: str = "no key configured",
) -> Record:
    """The record of one exchange. ``peer`` names the endpoint in errors and holds the key sent, which is
    scrubbed from everything the server said; ``key_source`` goes into a 401's message."""
    rec = Record(
        target=target,
        seq=seq,
        warmup=warmup,
        t_sched=ex.t_sched,
        t_send=ex.t_send,
        t_headers=ex.t_headers,
        t_end=ex.t_end,
        status=ex.status,
        reused=ex.reused,
        connect_ns=ex.connect_ns,
        tls_ns=ex.tls_ns,
    )
    request_id = fmt.request_id(ex.headers)
    rec.request_id = peer.scrub(request_id) if request_id else None
    if ex.error is not None:
        _transport_failure(rec, ex, peer)
        return rec
    body = b"".join(data for _, data in ex.pieces)
    if not 200 <= ex.status <= 299:
        rec.error = f"http_{ex.status}"
        rec.detail = short(error_message(body, ex.headers.get("content-type", ""), peer)[0], 120)
        rec.failure = status_error(
            ex.status,
            message=rec.detail,
            peer=peer,
            key_source=key_source,
            key_sent=bool(peer.secret),
            request_id=rec.request_id,
        )
        return rec
    ctype = ex.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        return _complete_json(rec, fmt, ex, peer)
    if ctype not in ("text/event-stream", "", "text/plain"):
        rec.error, rec.detail = "not_sse", f"{ctype} instead of an event stream"
        rec.failure = EndpointError(f"{peer.name} returned {rec.detail}", status=ex.status, request_id=rec.request_id)
        return rec
    _stream(rec, fmt, ex, peer)
    _empty(rec, peer)
    return rec


def _empty(rec: Record, peer: Peer) -> None:
    if rec.error is None and rec.chunks == 0 and not rec.output_tokens:
        reason = f" (finish reason {rec.finish_reason})" if rec.finish_reason else ""
        _failed(
            rec,
            EMPTY,
            EndpointError(
                f"{peer.name} answered HTTP {rec.status} with an empty answer{reason}: no content and 0 output "
                "tokens (an upstream that was cut off?)"
            ),
        )
        rec.detail = f"HTTP {rec.status}, no content, 0 output tokens{reason}"


def _transport_failure(rec: Record, ex: TimedRequest, peer: Peer) -> None:
    """A request the engine could not complete: its error as the engine built it (the same classes the client
    and ``relay ping`` raise), the key scrubbed."""
    kind = ex.error or "network"
    rec.error = "network" if kind in NETWORK_KINDS else kind
    rec.detail = peer.scrub(ex.detail)
    failure = ex.failure or exchange_error(kind, rec.detail, host=peer.host, address=peer.host, profile=peer.profile)
    rec.failure = scrub_error(failure, peer.secret) if failure is not None else None


def _failed(rec: Record, label: str, error: EndpointError) -> None:
    error.status = error.status if error.status is not None else rec.status or None
    error.request_id = error.request_id or rec.request_id
    rec.error, rec.detail, rec.failure = label, error.message, error


def _stream(rec: Record, fmt: WireFormat, ex: TimedRequest, peer: Peer) -> None:
    decoder = SSEDecoder()
    parser = fmt.stream_parser(peer)
    tool_marker = fmt.tool_marker
    first = last = None
    gaps = rec.gaps_ns
    chunks = 0
    try:
        for ts, data in ex.pieces:
            for event in decoder.feed(data):
                deltas = parser.feed(event)
                if any(d.text for d in deltas) or (tool_marker in event.data and _tool_content(event.data)):
                    chunks += 1
                    if last is not None:
                        gaps.append(ts - last)
                    else:
                        first = ts
                    last = ts
            if parser.done:
                break
    except StreamError as exc:
        _failed(rec, "stream_error", exc)
    except EndpointError as exc:
        _failed(rec, "malformed", exc)
    rec.t_first_token, rec.t_last_token, rec.chunks = first, last, chunks
    rec.model, rec.finish_reason, rec.usage = parser.model, parser.finish_reason, parser.usage
    if rec.error is None and not parser.complete:
        missing = fmt.end_marker if not parser.done else fmt.finish_field
        _failed(
            rec,
            "truncated",
            TruncatedResponse(
                f"the stream from {peer.name} ended without {missing} after {chunks} content events; "
                "the answer is incomplete"
            ),
        )
        rec.detail = f"the stream ended without its end marker after {chunks} content events"
    _tokens(rec)


def _complete_json(rec: Record, fmt: WireFormat, ex: TimedRequest, peer: Peer) -> Record:
    """An endpoint that ignored ``stream: true``: the whole answer is its first (and last) token."""
    try:
        done = fmt.parse_response(
            load_json_object(b"".join(d for _, d in ex.pieces).decode("utf-8", "replace"), what="response", peer=peer),
            peer,
        )
    except StreamError as exc:
        _failed(rec, "stream_error", exc)
        return rec
    except EndpointError as exc:
        _failed(rec, "malformed", exc)
        rec.detail = short(exc.message, 120)
        return rec
    last_ts = ex.pieces[-1][0] if ex.pieces else ex.t_end
    if done.text or done.reasoning:
        rec.t_first_token = rec.t_last_token = last_ts
        rec.chunks = 1
    rec.model, rec.finish_reason, rec.usage = done.model, done.finish_reason, done.usage
    _tokens(rec)
    _empty(rec, peer)
    return rec


def _tokens(rec: Record) -> None:
    if rec.usage.completion_tokens is not None:
        rec.output_tokens = rec.usage.completion_tokens
    else:  # the endpoint reported no usage: count content events, and say it is an estimate
        rec.output_tokens, rec.tokens_estimated = rec.chunks, True


def _tool_content(data: str) -> bool:
    try:
        obj: Any = json.loads(data)
    except ValueError:
        return False
    if not isinstance(obj, dict):
        return False
    delta = obj.get("delta")
    if isinstance(delta, dict) and delta.get("type") == "input_json_delta":
        return bool(delta.get("partial_json"))
    for choice in obj.get("choices") or []:
        calls = (choice.get("delta") or {}).get("tool_calls") if isinstance(choice, dict) else None
        for call in calls or []:
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and (fn.get("arguments") or fn.get("name")):
                return True
    return False


def error_excerpt(body: bytes, peer: Peer = UNNAMED) -> str:
    """The endpoint's own error message from an error body, else its start (the key scrubbed)."""
    return short(error_message(body, "", peer)[0], 120)
