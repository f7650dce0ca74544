"""Hostile servers for the limits and breaker tests, on real loopback sockets (``loopback.serve``).

``QuotaServer`` enforces a request limit per API key the way providers document it (Anthropic: a token
bucket whose capacity is the per-minute limit, refilled continuously): a request takes one token or is
answered 429 with a real ``retry-after`` (whole seconds until a token is back, as RFC 9110 writes it).
Every response carries ``x-ratelimit-limit-requests``, ``x-ratelimit-remaining-requests`` (the level
rounded down) and ``x-ratelimit-reset-requests`` (a Go duration until the bucket is full again), as
OpenAI sends them; an admitted request gets a streamed OpenAI-format answer. ``DownServer`` answers 503 to
every chat request. ``HangOnce`` keeps the first chat request waiting for ever and answers the others.
Each records what it saw, with times, for the tests to count."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .loopback import Request, Writer, serve


@dataclass
class Seen:
    t: float  # time.monotonic() when the request arrived
    key: str
    status: int


def sse_answer(text: str = "ok") -> bytes:
    base = {"id": "chatcmpl-limits", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}},
    ]
    lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()


def go_duration(seconds: float) -> str:
    """``250ms``, ``1.5s``, ``1m0.5s``: how OpenAI writes its resets."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


@dataclass
class QuotaServer:
    capacity: float
    per_second: float
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (level, at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, req: Request, out: Writer) -> None:
        if not req.path.endswith("/chat/completions"):
            out.head(404, {"content-type": "application/json"})
            out.write(b'{"error": {"message": "not found"}}')
            return
        key = req.headers.get("authorization", "")
        with self._lock:
            now = time.monotonic()
            level, at = self._buckets.get(key, (self.capacity, now))
            level = min(self.capacity, level + (now - at) * self.per_second)
            admitted = level >= 1
            if admitted:
                level -= 1
            self._buckets[key] = (level, now)
            self.seen.append(Seen(now, key, 200 if admitted else 429))
        headers = {
            "x-ratelimit-limit-requests": f"{self.capacity:g}",
            "x-ratelimit-remaining-requests": str(math.floor(level)),
            "x-ratelimit-reset-requests": go_duration((self.capacity - level) / self.per_second),
        }
        if not admitted:
            wait = (1 - level) / self.per_second
            out.head(429, {**headers, "content-type": "application/json", "retry-after": str(math.ceil(wait))})
            out.write(b'{"error": {"message": "Rate limit reached for requests", "type": "requests"}}')
            return
        out.head(200, {**headers, "content-type": "text/event-stream"})
        out.write(sse_answer())

    @property
    def statuses(self) -> list[int]:
        return [s.status for s in self.seen]

    @property
    def admitted(self) -> list[float]:
        return [s.t for s in self.seen if s.status == 200]


@dataclass
class DownServer:
    url: str = ""
    chat_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, req: Request, out: Writer) -> None:
        if req.path.endswith("/chat/completions"):
            with self._lock:
                self.chat_requests += 1
        out.head(503, {"content-type": "application/json"})
        out.write(b'{"error": {"message": "upstream unavailable", "type": "server_error"}}')


@dataclass
class HangOnce:
    url: str = ""
    first_arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    chat_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, req: Request, out: Writer) -> None:
        with self._lock:
            self.chat_requests += 1
            first = self.chat_requests == 1
        if first:
            self.first_arrived.set()
            self.release.wait(60)  # the client is killed meanwhile; the test sets it when it is done
            return
        out.head(200, {"content-type": "text/event-stream"})
        out.write(sse_answer())


@contextmanager
def running(server: QuotaServer | DownServer | HangOnce) -> Iterator[str]:
    with serve(server.handle) as url:
        server.url = url
        try:
            yield url
        finally:
            if isinstance(server, HangOnce):
                server.release.set()
