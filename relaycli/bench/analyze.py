"""One finished exchange -> one ``Record``: the event stream decoded and parsed after the request ended,
each event stamped with the time of the socket read that completed it.

Parsing after the fact keeps the socket loop free while requests are in flight (see ``core.engine``); the
timestamps are the same as if each event had been parsed the moment its last byte was read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from relaycli.core.formats import anthropic, openai
from relaycli.core.formats.common import html_excerpt, looks_like_html, short
from relaycli.core.sse import SSEDecoder
from relaycli.datatypes import Usage
from relaycli.errors import EndpointError, ExitCode, StreamError
from relaycli.measure.engine import TimedRequest

NETWORK_KINDS = frozenset({"dns", "refused", "reset", "network"})


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
    error: str | None = None  # failure class: http_NNN, timeout, network, tls, truncated, malformed, ...
    detail: str = ""
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


def exit_code_for(error: str) -> ExitCode:
    """The CONTRACT.md exit code that goes with a failure class."""
    if error in NETWORK_KINDS or error == "tls":
        return ExitCode.NETWORK
    if error == "timeout":
        return ExitCode.TIMEOUT
    if error in ("http_401", "http_403"):
        return ExitCode.AUTH
    if error == "http_429":
        return ExitCode.RATE_LIMITED
    if error.startswith("http_5") or error in ("truncated", "malformed", "stream_error", "not_sse", "protocol"):
        return ExitCode.ENDPOINT
    return ExitCode.ERROR


def analyze(ex: TimedRequest, *, protocol: str, target: int, seq: int, warmup: bool = False) -> Record:
    rec = Record(target=target, seq=seq, warmup=warmup, t_sched=ex.t_sched, t_send=ex.t_send,
                 t_headers=ex.t_headers, t_end=ex.t_end, status=ex.status, reused=ex.reused,
                 connect_ns=ex.connect_ns, tls_ns=ex.tls_ns)
    headers = ex.headers
    rec.request_id = headers.get("x-request-id") or headers.get("request-id")
    if protocol == "anthropic":
        rec.request_id = headers.get("request-id") or headers.get("x-request-id")
    if ex.error is not None:
        rec.error = "network" if ex.error in NETWORK_KINDS else ex.error
        rec.detail = ex.detail
        return rec
    body_parts = [data for _, data in ex.pieces]
    if not 200 <= ex.status <= 299:
        rec.error = f"http_{ex.status}"
        rec.detail = error_excerpt(b"".join(body_parts))
        return rec
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    wire: ModuleType = anthropic if protocol == "anthropic" else openai
    if ctype == "application/json":
        return _complete_json(rec, wire, ex)
    if ctype not in ("text/event-stream", "", "text/plain"):
        rec.error, rec.detail = "not_sse", f"{ctype} instead of an event stream"
        return rec
    _stream(rec, wire, ex)
    return rec


def _stream(rec: Record, wire: ModuleType, ex: TimedRequest) -> None:
    decoder = SSEDecoder()
    parser = wire.StreamParser()
    tool_marker = '"input_json_delta"' if wire is anthropic else '"tool_calls"'
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
        rec.error, rec.detail = "stream_error", exc.message
    except EndpointError as exc:
        rec.error, rec.detail = "malformed", exc.message
    rec.t_first_token, rec.t_last_token, rec.chunks = first, last, chunks
    rec.model, rec.finish_reason, rec.usage = parser.model, parser.finish_reason, parser.usage
    if rec.error is None and not parser.complete:
        rec.error = "truncated"
        rec.detail = f"the stream ended without its end marker after {chunks} content events"
    _tokens(rec)


def _complete_json(rec: Record, wire: ModuleType, ex: TimedRequest) -> Record:
    """An endpoint that ignored ``stream: true``: the whole answer is its first (and last) token."""
    try:
        done = wire.parse_response(json.loads(b"".join(d for _, d in ex.pieces)))
    except StreamError as exc:
        rec.error, rec.detail = "stream_error", exc.message
        return rec
    except (ValueError, AttributeError, EndpointError) as exc:
        rec.error, rec.detail = "malformed", short(str(exc), 120)
        return rec
    last_ts = ex.pieces[-1][0] if ex.pieces else ex.t_end
    if done.text or done.reasoning:
        rec.t_first_token = rec.t_last_token = last_ts
        rec.chunks = 1
    rec.model, rec.finish_reason, rec.usage = done.model, done.finish_reason, done.usage
    _tokens(rec)
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


def error_excerpt(body: bytes) -> str:
    """The endpoint's own error message from an error body, else its start."""
    if looks_like_html("", body):  # a proxy's or login page: its title, not its markup
        return f"HTML page {html_excerpt(body)!r}"
    text = body[:4096].decode("utf-8", "replace")
    try:
        obj = json.loads(text)
    except ValueError:
        return short(text, 120)
    if isinstance(obj, dict):
        err = obj.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return short(err["message"], 120)
        for key in ("message", "detail", "error"):
            if isinstance(obj.get(key), str):
                return short(obj[key], 120)
    return short(text, 120)
