"""Test helpers for the client core: fake time, SSE bodies, chunked and failing response streams."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from relaycli.config.profile import Profile, ResolvedKey, Timeouts
from relaycli.core.client import RelayClient, RetryNotice

SECRET = "sk-test-SECRET-4242"
OPENAI_URL = "https://relay.test/v1"
ANTHROPIC_URL = "https://api.anthropic.test"


class FakeClock:
    """perf_counter_ns stand-in; only moves when told to."""

    def __init__(self) -> None:
        self.ns = 1_000_000_000

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1e9)


class Sleeper:
    """Records waits and moves the fake clock instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


class Chunks(httpx.SyncByteStream):
    """A response body delivered in the given pieces; an exception in the list is raised there.
    A float in the list advances ``clock`` by that many seconds (time passing between chunks)."""

    def __init__(self, parts: Iterable[bytes | float | BaseException], clock: FakeClock | None = None):
        self.parts = list(parts)
        self.clock = clock
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, BaseException):
                raise part
            if isinstance(part, float):
                assert self.clock is not None
                self.clock.advance(part)
                continue
            yield part

    def close(self) -> None:
        self.closed = True


def sse(*events: Any, done: bool = False) -> bytes:
    """An SSE body: dicts become ``data: <json>``, ``(name, dict)`` pairs become named events."""
    out = []
    for ev in events:
        if isinstance(ev, tuple):
            name, payload = ev
            out.append(f"event: {name}\ndata: {json.dumps(payload)}\n\n")
        elif isinstance(ev, str):
            out.append(ev)
        else:
            out.append(f"data: {json.dumps(ev)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def chunk(content: str | None = None, *, finish: str | None = None, reasoning: str | None = None) -> dict:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(prompt: int = 11, completion: int = 7, cached: int | None = 3) -> dict:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"id": "chatcmpl-1", "model": "gpt-test", "choices": [], "usage": usage}


def openai_stream(*texts: str, usage: bool = True, done: bool = True) -> bytes:
    events: list[Any] = [chunk(t) for t in texts]
    events.append(chunk(finish="stop"))
    if usage:
        events.append(usage_chunk())
    return sse(*events, done=done)


SSE_HEADERS = {"content-type": "text/event-stream", "x-request-id": "req-123"}


def sse_response(body: bytes | Chunks, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    h = dict(SSE_HEADERS, **(headers or {}))
    if isinstance(body, Chunks):
        return httpx.Response(status, headers=h, stream=body)
    return httpx.Response(status, headers=h, content=body)


def profile(
    protocol: str = "openai",
    *,
    base_url: str | None = None,
    retries: int = 2,
    timeout: Timeouts | None = None,
    name: str = "holysheep",
    headers: dict[str, str] | None = None,
) -> Profile:
    return Profile(
        name=name,
        base_url=base_url or (ANTHROPIC_URL if protocol == "anthropic" else OPENAI_URL),
        protocol=protocol,  # type: ignore[arg-type]
        api_key_env="HOLYSHEEP_API_KEY",
        retries=retries,
        timeout=timeout or Timeouts(),
        headers=headers or {},
    )


class Harness:
    """A RelayClient wired to a handler, a fake clock and a recording sleep."""

    def __init__(
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        *,
        prof: Profile | None = None,
        key: ResolvedKey | None = None,
        rand: float = 1.0,
        wall: float = 1_700_000_000.0,
    ) -> None:
        self.clock = FakeClock()
        self.sleep = Sleeper(self.clock)
        self.notices: list[RetryNotice] = []
        self.quirks: dict[str, Any] = {}
        self.profile = prof or profile()
        self.client = RelayClient(
            self.profile,
            key or ResolvedKey(SECRET, "env HOLYSHEEP_API_KEY"),
            transport=httpx.MockTransport(handler),
            clock=self.clock,
            sleep=self.sleep,
            rand=lambda: rand,
            on_retry=self.notices.append,
            quirks=self.quirks,
            wall_clock=lambda: wall,
        )
