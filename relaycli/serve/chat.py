"""``POST /v1/chat/completions`` and ``POST /v1/messages``: a client's request through the request pipeline.

The client's body is read in its own protocol (``wire.parse_*``), routed to a profile, and sent as an
``Ask`` that carries the client's own fields for a profile of the client's protocol and their translation
for the other (a request that cannot be translated cannot fall back to such a profile). The pipeline runs
in a greenlet on the event loop's thread (``core/bridge.py``); a streamed answer goes to the client as it
arrives (``passing.py``); a whole answer is assembled from the upstream's events, or from relay's deltas for
a cache hit or the other protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relaycli.config.profile import Profile
from relaycli.core import bridge
from relaycli.datatypes import Delta, Message, Notes, Result
from relaycli.errors import OutputClosed
from relaycli.pipeline import Pipeline
from relaycli.pipeline.request import Answer, Ask, CacheUse, partial_answer
from relaycli.pipeline.seams import Priority
from relaycli.serve import wire
from relaycli.serve.channel import Channel
from relaycli.serve.exchange import Exchange
from relaycli.serve.failures import describe
from relaycli.serve.passing import Passing
from relaycli.serve.reply import Reply, Send, send_reply
from relaycli.serve.routing import Routes

__all__ = ["ChatService"]

_OTHER: dict[str, wire.Protocol] = {"openai": "anthropic", "anthropic": "openai"}
_PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high")


class ChatService:
    def __init__(self, pipeline: Pipeline, routes: Routes, notes: Notes) -> None:
        self.pipeline = pipeline
        self.routes = routes
        self.notes = notes

    # -- the request ---------------------------------------------------------------------------------
    def ask(
        self, protocol: wire.Protocol, body: Any, headers: Mapping[str, str], ex: Exchange
    ) -> tuple[Ask, Profile, wire.Incoming]:
        """The client's body as an Ask and the profile it routes to; ``wire.BadRequest`` when it cannot be."""
        incoming = wire.parse_openai(body) if protocol == "openai" else wire.parse_anthropic(body)
        profile, why = self.routes.pick(incoming.model)
        ex.model, ex.profile, ex.route, ex.stream = incoming.model, profile.name, why, incoming.stream
        own = incoming.params_for(protocol)
        if protocol == "openai":  # the cap goes as Ask.max_tokens: relay names it for the model (and learns)
            own.pop("max_tokens", None)
            own.pop("max_completion_tokens", None)
        by_protocol: dict[str, dict[str, Any]] = {protocol: own}
        try:
            by_protocol[_OTHER[protocol]] = incoming.params_for(_OTHER[protocol])
        except wire.CrossProtocol as exc:
            if profile.protocol != protocol:
                raise wire.CrossProtocol(
                    f"model {incoming.model!r} is served by profile {profile.name!r} ({profile.protocol}), and this"
                    f" request cannot be translated to it: {exc.message}",
                    exc.reason,
                    exc.param,
                ) from None
        passed = wire.passed_headers(headers)
        ask = Ask(
            model=incoming.model,
            messages=incoming.messages or (Message("user", ""),),
            system=incoming.system,
            temperature=incoming.temperature,
            max_tokens=incoming.max_tokens,
            by_protocol=by_protocol,
            headers={protocol: passed} if passed and protocol == "anthropic" else None,
        )
        return ask, profile, incoming

    # -- answering -----------------------------------------------------------------------------------
    async def answer(
        self,
        protocol: wire.Protocol,
        body: Any,
        headers: Mapping[str, str],
        ex: Exchange,
        send: Send,
        disconnected: asyncio.Future[None],
    ) -> Reply | None:
        """Answer one chat request: a ``Reply`` to send whole, or None once the answer was sent."""
        try:
            ask, profile, incoming = self.ask(protocol, body, headers, ex)
        except wire.BadRequest as exc:
            return _error(protocol, ex, 400, exc.message)
        run = _RunSettings(
            cache=_cache_use(headers, portable=incoming.untranslatable is None),
            priority=_priority(headers),
            tag=ex.tag,
        )
        if incoming.stream:
            return await self._stream(protocol, ask, profile, incoming, run, ex, send, disconnected)
        return await self._whole(protocol, ask, profile, run, ex, send)

    async def _whole(
        self, protocol: wire.Protocol, ask: Ask, profile: Profile, run: _RunSettings, ex: Exchange, send: Send
    ) -> Reply | None:
        events: list[str] = []
        withheld = [False]  # an event held the upstream's key: the answer is built from relay's text instead
        sent: list[Reply] = []  # the reply, sent the moment the upstream's answer ended well

        def on_event(source: str, data: str) -> None:
            if source == protocol:
                if not data:
                    withheld[0] = True
                events.append(data)

        def sink(delta: Delta) -> None:
            if delta.kind == "restart":
                events.clear()
                withheld[0] = False

        def ended(result: Result, source: Profile) -> None:
            # the answer is whole: it goes to the client now, its row and cache entry are written after
            reply = Reply(200, _whole_body(protocol, ask, result, source.protocol, events, withheld[0]))
            sent.append(reply)
            bridge.wait(send_reply(send, reply))

        def work() -> Answer:
            return self.pipeline.run(
                ask,
                sink,
                profile=profile,
                command="serve",
                tag=run.tag,
                shown=_never,
                cache=run.cache,
                priority=run.priority,
                events=on_event,
                ended=ended,
                notes=self.notes,
            )

        try:
            # cancelled: the server stops, past its grace; the request was interrupted and recorded as such,
            # and its client gets a 503 if it still listens (not a traceback in the server's log)
            answer = await bridge.run(work, interrupt=_stopping)
        except BaseException as exc:  # noqa: BLE001 - every failure is an answer in the client's protocol
            _account(ex, partial_answer(exc))
            status, message = describe(exc)
            if sent:  # the whole answer had gone: what failed after it changes nothing sent
                ex.status, ex.error = 200, message
                return None
            return _error(protocol, ex, status, message)
        _account(ex, answer)
        ex.status = 200
        if sent:
            return None
        # a cache hit (replayed: no ended hook)
        return Reply(200, _whole_body(protocol, ask, answer.result, answer.profile.protocol, events, withheld[0]))

    async def _stream(
        self,
        protocol: wire.Protocol,
        ask: Ask,
        profile: Profile,
        incoming: wire.Incoming,
        run: _RunSettings,
        ex: Exchange,
        send: Send,
        disconnected: asyncio.Future[None],
    ) -> Reply | None:
        channel = Channel()
        writer = wire.for_client(protocol).StreamWriter(
            model=incoming.model,
            request_id=None,
            created=int(time.time()),
            include_usage=incoming.include_usage,
            source=profile.protocol,
        )
        passing = Passing(channel, writer, protocol)

        gone: list[bool] = []  # whether the request had been given up on (the client left) when it failed

        def ended(result: Result, source: Profile) -> None:
            # the upstream's answer ended well: the client's response ends now, and the writing task sends
            # it while this request's row and cache entry are written
            passing.finish(result.finish_reason, source.protocol, result.usage)
            channel.end()
            bridge.pause(0)

        def work() -> tuple[Answer | None, BaseException | None]:
            try:
                answer = self.pipeline.run(
                    ask,
                    passing.sink,
                    profile=profile,
                    command="serve",
                    tag=run.tag,
                    shown=passing.shown,
                    cache=run.cache,
                    priority=run.priority,
                    events=passing.events,
                    cancelled=passing.cancelled,
                    ended=ended,
                    notes=self.notes,
                )
                passing.finish(answer.result.finish_reason, answer.profile.protocol, answer.result.usage)
                return answer, None
            except BaseException as exc:  # noqa: BLE001 - told to the client below, recorded by the pipeline
                gone.append(channel.cancelled)
                if passing.written and not channel.cancelled:
                    status, message = describe(exc)
                    with contextlib.suppress(Exception):  # the client left as well
                        passing.broken(message, status)
                return partial_answer(exc), exc
            finally:
                channel.end()

        job = asyncio.ensure_future(bridge.run(work, interrupt=_stopping))
        disconnected.add_done_callback(lambda _: channel.cancel())
        started = closed = False
        try:
            while True:
                data, last = await channel.take()
                if channel.cancelled:
                    data = b""
                clean = last and passing.finished and bool(data)  # the answer's end: with its last bytes
                if data:
                    if not started:
                        started = True
                        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
                    await send({"type": "http.response.body", "body": data, "more_body": not clean})
                    closed = clean
                if last:
                    break
            answer, failure = await job
        finally:
            if not job.done():  # this task was cancelled (the server's grace ran out): the request ends now
                channel.cancel()
                job.cancel()
        _account(ex, answer)
        left = bool(gone and gone[0])  # not a client that left after reading the broken stream's error
        if not started:
            if failure is None:  # cannot happen: a finished answer always writes its end
                failure = RuntimeError("empty answer")
            status, message = describe(failure)
            if left:
                ex.status, ex.error = 499, "the client left"
                return None
            return _error(protocol, ex, status, message)
        ex.status = 200
        if failure is not None:
            ex.error = "the client left" if left else describe(failure)[1]
        if not closed:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return None


@dataclass(frozen=True, slots=True)
class _RunSettings:
    cache: CacheUse
    priority: Priority
    tag: str | None


_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def _whole_body(
    protocol: wire.Protocol, ask: Ask, result: Result, source: wire.Protocol, events: list[str], withheld: bool
) -> dict[str, Any]:
    """A whole answer's body: the upstream's own events assembled, when it speaks the client's protocol and
    none held its key; else written from relay's result."""
    body = wire.collect(protocol, events) if events and not withheld and source == protocol else None
    if body is not None:
        return body
    return wire.complete(
        protocol,
        model=result.model or ask.model,
        request_id=None,
        created=int(time.time()),
        text=result.text,
        finish_reason=result.finish_reason,
        source=source,
        usage=result.usage,
    )


def _never() -> bool:
    return False


def _stopping() -> BaseException:
    """Raised inside a request's pipeline when its task is cancelled: the server stops, past its grace."""
    return OutputClosed("the server is stopping")


def _cache_use(headers: Mapping[str, str], *, portable: bool) -> CacheUse:
    """The cache reads and stores text answers; a request with tools or images (``portable`` False) neither:
    a stored answer keeps only the text. ``X-Relay-Cache: off | refresh`` from the client."""
    if not portable:
        return CacheUse()
    asked = headers.get("x-relay-cache", "").strip().lower()
    if asked in ("off", "no", "no-cache"):
        return CacheUse()
    if asked == "refresh":
        return CacheUse(write=True)
    return CacheUse(read=True, write=True)


def _priority(headers: Mapping[str, str]) -> Priority:
    asked = headers.get("x-relay-priority", "").strip().lower()
    return asked if asked in _PRIORITIES else "normal"  # type: ignore[return-value]


def _account(ex: Exchange, answer: Answer | None) -> None:
    if answer is None:
        return
    result = answer.result
    ex.profile = answer.profile.name
    ex.tokens_in, ex.tokens_out = result.usage.prompt_tokens, result.usage.completion_tokens
    ex.cost_usd, ex.cached = answer.cost_usd, answer.cached
    ex.ttft_ms, ex.latency_ms = result.timing.ttft_ms, result.timing.latency_ms


def _error(protocol: wire.Protocol, ex: Exchange, status: int, message: str) -> Reply:
    ex.status, ex.error = status, message
    return Reply(status, wire.error_body(protocol, status, message))
