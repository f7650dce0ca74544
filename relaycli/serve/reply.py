"""A whole (not streamed) JSON answer to a client, and sending it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from relaycli.core.scrub import scrub_known

__all__ = ["Reply", "Send", "send_reply"]

Send = Callable[[dict[str, Any]], Awaitable[None]]
_JSON = [(b"content-type", b"application/json")]


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole (not streamed) answer: status and JSON body."""

    status: int
    body: dict[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = ()


async def send_reply(send: Send, reply: Reply) -> None:
    """Send a whole JSON answer, without any key relay holds: an upstream may echo its key inside an answer
    it streamed in pieces (each event is scrubbed alone; a key split across two is only whole here) or in
    a ``count_tokens`` answer."""
    text = scrub_known(json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")))
    body = text.encode("utf-8")
    headers = [*_JSON, (b"content-length", str(len(body)).encode()), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
