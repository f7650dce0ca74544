"""The ASGI application ``relay serve`` runs: paths, body limits, client keys, errors, the access log.

=================================  ==========================================================
``POST /v1/chat/completions``      OpenAI chat completions (streamed or whole), any profile
``POST /v1/messages``              Anthropic messages (streamed or whole), any profile
``POST /v1/messages/count_tokens`` passed to an Anthropic profile's upstream
``GET /v1/models``                 the models the routes reach (Anthropic's shape when asked
                                   with ``anthropic-version``)
``GET /v1/usage``                  the ledger's figures for a period (``usage.py``)
``GET /health``                    ``{"status": "ok"}``, no key needed
=================================  ==========================================================

Errors are in the protocol of the path. A body over ``max_body`` is refused with 413 before it is read;
a body that does not arrive within ``BODY_TIMEOUT_S`` gets 408.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from relaycli.serve import wire
from relaycli.serve.access import AccessLog
from relaycli.serve.auth import ClientKeys, presented_key
from relaycli.serve.chat import ChatService
from relaycli.serve.exchange import Exchange
from relaycli.serve.reply import Reply, Send, send_reply

__all__ = ["Gateway"]

BODY_TIMEOUT_S = 30.0
Receive = Callable[[], Awaitable[dict[str, Any]]]


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Gateway:
    def __init__(
        self,
        chat: ChatService,
        keys: ClientKeys,
        log: AccessLog,
        *,
        max_body: int,
        usage: Callable[[Mapping[str, str]], Awaitable[tuple[int, dict[str, Any]]]] | None = None,
        count_tokens: Callable[[Any, Mapping[str, str]], Awaitable[tuple[int, dict[str, Any]]]] | None = None,
    ) -> None:
        self.chat = chat
        self.keys = keys
        self.log = log
        self.max_body = max_body
        self.usage = usage
        self.count_tokens = count_tokens

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        ex = Exchange(method=method, path=path, client=f"{client[0]}:{client[1]}" if client else "")
        protocol: wire.Protocol = "anthropic" if path.startswith("/v1/messages") else "openai"
        if path == "/v1/models" and "anthropic-version" in headers:
            protocol = "anthropic"
        try:
            query = scope.get("query_string", b"").decode("latin-1")
            await self._route(method, path, query, headers, protocol, ex, receive, send)
        except _Refused as refused:
            await send_reply(send, Reply(refused.status, wire.error_body(protocol, refused.status, refused.message)))
            ex.status, ex.error = refused.status, refused.message
        finally:
            self.log.write(ex)

    async def _route(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        protocol: wire.Protocol,
        ex: Exchange,
        receive: Receive,
        send: Send,
    ) -> None:
        if path == "/health":
            if method != "GET":
                raise _Refused(405, "use GET /health")
            ex.status = 200
            await send_reply(send, Reply(200, {"status": "ok"}))
            return
        known = _PATHS.get(path)
        if known is None:
            raise _Refused(404, f"no such path: {path} (relay serve answers {', '.join(sorted(_PATHS))})")
        if method != known:
            raise _Refused(405, f"use {known} {path}")
        ex.tag = self._tag(headers)
        if path == "/v1/models":
            reply = Reply(200, wire.models_body(protocol, self._models()))
        elif path == "/v1/usage":
            if self.usage is None:
                raise _Refused(404, "no usage figures here")
            status, doc = await self.usage(_query(query))
            reply = Reply(status, doc)
        else:
            body = await self._body(headers, receive)
            if path == "/v1/messages/count_tokens":
                if self.count_tokens is None:
                    raise _Refused(404, "count_tokens is not offered here")
                status, doc = await self.count_tokens(body, headers)
                reply = Reply(status, doc)
            else:
                disconnected = _watch(receive)
                try:
                    answered = await self.chat.answer(protocol, body, headers, ex, send, disconnected)
                finally:
                    disconnected.cancel()
                if answered is None:
                    return  # sent (streamed, or whole the moment it ended)
                reply = answered
        ex.status = reply.status
        await send_reply(send, reply)

    def _tag(self, headers: Mapping[str, str]) -> str | None:
        """The ledger tag: the client key's name (when keys are required; a bad key is refused with 401),
        with the client's ``X-Relay-Tag`` after it; without keys, ``X-Relay-Tag`` alone."""
        asked = headers.get("x-relay-tag", "").strip()[:100] or None
        if not self.keys.required:
            return asked
        name = self.keys.check(presented_key(headers))
        if name is None:
            raise _Refused(401, "a valid relay serve client key is required (Authorization: Bearer or x-api-key)")
        return f"{name}/{asked}" if asked else name

    async def _body(self, headers: Mapping[str, str], receive: Receive) -> Any:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _Refused(413, f"the request body is larger than {self.max_body:,} bytes")
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Refused(499, "the client left")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        raise _Refused(413, f"the request body is larger than {self.max_body:,} bytes")
                    parts.append(chunk)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            raise _Refused(408, f"the request body did not arrive within {BODY_TIMEOUT_S:g} s") from None
        try:
            return json.loads(b"".join(parts))
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "the request body is not JSON") from None

    def _models(self) -> list[tuple[str, str | None]]:
        seen: dict[str, str | None] = {}
        for profile in self.chat.routes.profiles():
            for model in (profile.default_model, *profile.aliases):
                if model:
                    seen.setdefault(model, profile.name)
        for pattern, name in self.chat.routes.patterns():
            if not any(ch in pattern for ch in "*?["):
                seen.setdefault(pattern, name)
        return list(seen.items())


_PATHS = {
    "/v1/chat/completions": "POST",
    "/v1/messages": "POST",
    "/v1/messages/count_tokens": "POST",
    "/v1/models": "GET",
    "/v1/usage": "GET",
}


def _query(text: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(text, keep_blank_values=True))


def _watch(receive: Receive) -> asyncio.Future[None]:
    """A future that is done when the client disconnects (the body has been read by then)."""

    async def wait() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    return asyncio.ensure_future(wait())


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
