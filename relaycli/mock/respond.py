"""Sending answers: one request's ``MockCall`` and ``MockRecord``, complete responses, and paced
streams with their misbehaviour knobs (``stop_after``, ``malformed_after``, ``error_after``,
``stall_after``, ``reset_after``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from relaycli.mock.httpio import Request, head, response
from relaycli.mock.options import MockOptions
from relaycli.mock.stream import ClientGone, Emitter
from relaycli.mock.wire import Protocol, Reply

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"
HTML = "text/html; charset=utf-8"


@dataclass(slots=True)
class MockRecord:
    """What the server did with one request: ground truth for latency measurements."""

    path: str
    method: str
    request_id: str
    t_received_ns: int
    """When the request's head had arrived (``time.perf_counter_ns``)."""
    model: str | None = None
    status: int = 0
    stream: bool = False
    protocol: str | None = None
    t_first_token_ns: int | None = None
    """When the first content token was handed to the socket; ``None`` if none was."""
    t_last_token_ns: int | None = None
    t_end_ns: int = 0
    """When the response's last bytes were handed to the socket (or the client was found gone)."""
    tokens: int = 0
    """Content tokens sent."""
    directives: str = ""
    """The request's own directives (header and prompt) in canonical form; "" for none."""
    outcome: str = "ok"
    """ok, rejected, failed, html, malformed, error_event, stopped, reset, stalled or disconnected."""
    planned_ttft_ms: float | None = None
    """The time to first token the server aimed at (``ttft`` or a draw from ``ttft_dist``); the
    timestamps above say what actually happened."""


@dataclass(slots=True)
class MockCall:
    """One request being answered on one connection."""

    req: Request
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    rec: MockRecord
    headers: list[tuple[str, str]]
    """Extra response headers (the request id, retry hints)."""
    close_record: Callable[[MockRecord], None]
    """Stamps ``t_end_ns`` and logs the record; runs once, just before the last bytes go out."""

    def finish(self) -> None:
        self.close_record(self.rec)

    async def send(self, status: int, content_type: str, body: bytes) -> bool:
        """A complete response; whether the connection may carry another request."""
        self.rec.status = status
        keep_alive = self.req.keep_alive
        data = response(status, content_type, body, self.headers, keep_alive=keep_alive)
        if self.req.method == "HEAD":  # the head alone, content-length included
            data = data[: len(data) - len(body)]
        self.finish()
        if self.writer.transport.is_closing():
            raise ClientGone
        self.writer.write(data)
        try:
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ClientGone from exc
        return keep_alive


async def sleep_until(deadline: float) -> None:
    """Sleep until ``time.perf_counter()`` reaches ``deadline`` (never earlier)."""
    while (remaining := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(remaining)


async def complete(
    ex: MockCall, opts: MockOptions, reply: Reply, tokens: tuple[str, ...], truncated: bool, offsets: tuple[float, ...]
) -> bool:
    """A non-streaming answer, sent when its last token is due. The ``*_after`` knobs become: stall →
    never answer; stop → headers and half the body, then close; malformed → a 200 whose body is cut in
    half; error → a 200 whose body is the protocol's error object. ``offsets[k]``: seconds after receipt
    at which token k is due (see ``dist.schedule``)."""
    rec = ex.rec
    await sleep_until(ex.req.t_received_ns / 1e9 + offsets[max(len(tokens) - 1, 0)])
    if opts.stall_after is not None:
        rec.outcome = "stalled"
        await Emitter(ex.writer, ping=b"", keepalive=0).stall(ex.reader)
    body = reply.completion(tokens, truncated)
    if tokens:
        now = time.perf_counter_ns()
        rec.tokens, rec.t_first_token_ns, rec.t_last_token_ns = len(tokens), now, now
    if opts.stop_after is not None:
        rec.status, rec.outcome = 200, "stopped"
        full = response(200, JSON, body, ex.headers, keep_alive=ex.req.keep_alive)
        ex.finish()
        ex.writer.write(full[: len(full) - len(body) // 2])
        with contextlib.suppress(ConnectionError, OSError):
            await ex.writer.drain()
        return False
    if opts.malformed_after is not None:
        rec.outcome, body = "malformed", body[: len(body) // 2]
    elif opts.error_after is not None:
        rec.outcome, body = "error_event", reply.error_body()
        rec.tokens, rec.t_first_token_ns, rec.t_last_token_ns = 0, None, None
    return await ex.send(200, JSON, body)


async def stream(
    ex: MockCall,
    proto: Protocol,
    opts: MockOptions,
    reply: Reply,
    tokens: tuple[str, ...],
    truncated: bool,
    offsets: tuple[float, ...],
) -> bool:
    """A streamed answer: headers and the opening events at once, token k at receipt + ``offsets[k]``
    (ttft + k * token_delay unless distributions are set), then the protocol's ending, unless a
    ``*_after`` knob cuts in at its token."""
    rec = ex.rec
    rec.status = 200
    emitter = Emitter(ex.writer, ping=proto.ping, keepalive=opts.keepalive)
    sse_headers = [("content-type", SSE), ("cache-control", "no-cache"), *ex.headers]
    emitter.raw(head(200, sse_headers, keep_alive=ex.req.keep_alive, chunked=True))
    emitter.add(reply.start())
    for k in range(opts.reasoning):
        emitter.add(reply.reasoning(("" if k == 0 else " ") + "thinking"))
    n = len(tokens)
    start = ex.req.t_received_ns / 1e9

    def trigger(value: int | None) -> int:
        return -1 if value is None else min(value, n)

    malformed, error, stop, stall, reset = (
        trigger(opts.malformed_after),
        trigger(opts.error_after),
        trigger(opts.stop_after),
        trigger(opts.stall_after),
        trigger(opts.reset_after),
    )

    def finish() -> None:
        rec.tokens = emitter.tokens_written
        rec.t_first_token_ns, rec.t_last_token_ns = emitter.first_token_ns, emitter.last_token_ns
        ex.finish()

    try:
        for k in range(n + 1):
            if k in (malformed, error, stop, stall, reset):
                await emitter.wait_until(start + offsets[k])
                if k == malformed:
                    rec.outcome = "malformed"
                    emitter.add(reply.malformed_event())
                if k == error:
                    rec.outcome = "error_event"
                    emitter.add(reply.error_event())
                    await emitter.end(finish)
                    return ex.req.keep_alive
                if k == stop:
                    rec.outcome = "stopped"
                    await emitter.flush()
                    finish()
                    emitter.close()
                    return False
                if k == reset:
                    rec.outcome = "reset"
                    await emitter.flush()
                    finish()
                    emitter.reset()
                    return False
                if k == stall:
                    rec.outcome = "stalled"
                    await emitter.stall(ex.reader)
            if k == n:
                break
            await emitter.wait_until(start + offsets[k])
            emitter.add(reply.token(tokens[k]), tokens=1)
        emitter.add(reply.finish(n, truncated))
        await emitter.end(finish)
        return ex.req.keep_alive
    finally:
        if not rec.t_end_ns:  # the client left: keep what was sent before it did
            rec.tokens = emitter.tokens_written
            rec.t_first_token_ns, rec.t_last_token_ns = emitter.first_token_ns, emitter.last_token_ns
