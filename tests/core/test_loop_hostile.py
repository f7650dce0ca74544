"""Hostile upstreams, met by the client on the event loop (``relay serve``, ``relay batch``) exactly as by the
synchronous client (``relay stream``): the same answer or the same error, named the same way, with the same
exit code. Each server writes its raw bytes itself (tests/integration/loopback.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from relaycli.config.profile import ResolvedKey, Timeouts
from relaycli.core import bridge
from relaycli.core.client import RelayClient
from relaycli.datatypes import ChatRequest, Message, Result
from relaycli.errors import RelayError
from tests.integration.loopback import Request, Writer, serve

from .support import SECRET, chunk, profile

ASK = ChatRequest(model="gpt-test", messages=(Message("user", "hi"),), stream=True)
SSE = {"content-type": "text/event-stream"}


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _chunked(w: Writer, *parts: bytes, end: bool = True) -> None:
    for part in parts:
        w.write(b"%x\r\n%s\r\n" % (len(part), part))
    if end:
        w.write(b"0\r\n\r\n")


def cut_mid_stream(r: Request, w: Writer) -> None:
    w.head(200, SSE | {"transfer-encoding": "chunked"})
    _chunked(w, _event(chunk("Hello")), end=False)  # then the connection closes


def html_page(r: Request, w: Writer) -> None:
    body = b"<html><body>Please log in</body></html>"
    w.head(200, {"content-type": "text/html", "content-length": str(len(body))})
    w.write(body)


def malformed_chunk(r: Request, w: Writer) -> None:
    w.head(200, SSE | {"transfer-encoding": "chunked"})
    _chunked(w, b"data: {not json\n\n")


def error_event(r: Request, w: Writer) -> None:
    w.head(200, SSE | {"transfer-encoding": "chunked"})
    _chunked(w, _event(chunk("Hi")), _event({"error": {"message": "overloaded", "type": "server_error"}}))


def status_503(r: Request, w: Writer) -> None:
    body = b'{"error": {"message": "upstream is down"}}'
    w.head(503, {"content-type": "application/json", "content-length": str(len(body))})
    w.write(body)


def no_finish_reason(r: Request, w: Writer) -> None:
    w.head(200, SSE | {"transfer-encoding": "chunked"})
    _chunked(w, _event(chunk("Hi")), b"data: [DONE]\n\n")


def garbage_status_line(r: Request, w: Writer) -> None:
    w.write(b"HTTX/9 banana\r\n\r\n")


def headers_then_silence(r: Request, w: Writer) -> None:
    w.head(200, SSE | {"transfer-encoding": "chunked"})
    time.sleep(1.0)


def close_delimited(r: Request, w: Writer) -> None:
    w.head(200, SSE)  # neither a length nor chunks: the body ends with the connection
    w.write(_event(chunk("Hello")) + _event(chunk(finish="stop")) + b"data: [DONE]\n\n")


def interim_then_answer(r: Request, w: Writer) -> None:
    w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    w.head(200, SSE | {"transfer-encoding": "chunked"})
    _chunked(w, _event(chunk("after 100")), _event(chunk(finish="stop")), b"data: [DONE]\n\n")


def echoes_the_key(r: Request, w: Writer) -> None:
    body = json.dumps({"error": {"message": f"bad key: {r.headers.get('authorization', '')}"}}).encode()
    w.head(401, {"content-type": "application/json", "content-length": str(len(body))})
    w.write(body)


HANDLERS: list[Callable[[Request, Writer], None]] = [
    echoes_the_key,
    cut_mid_stream,
    html_page,
    malformed_chunk,
    error_event,
    status_503,
    no_finish_reason,
    garbage_status_line,
    headers_then_silence,
    close_delimited,
    interim_then_answer,
]


def _outcome(client: RelayClient, run: Callable[[Callable[[], Result]], Result]) -> tuple[str, object]:
    try:
        result = run(lambda: client.complete(ASK))
    except RelayError as exc:
        return "error", (type(exc).__name__, exc.exit_code, exc.message)
    return "answer", (result.text, result.finish_reason, result.complete)


@pytest.mark.parametrize("handler", HANDLERS, ids=[h.__name__ for h in HANDLERS])
def test_the_loop_client_meets_a_hostile_upstream_as_the_synchronous_one_does(
    handler: Callable[[Request, Writer], None],
) -> None:
    with serve(handler) as url:
        prof = profile(base_url=f"{url}/v1", retries=0, timeout=Timeouts(read=0.4))
        key = ResolvedKey(SECRET, "config")
        with RelayClient(prof, key, quirks={}) as plain:
            direct = _outcome(plain, lambda fn: fn())
        looped = _outcome(RelayClient(prof, key, quirks={}, on_loop=True), lambda fn: asyncio.run(bridge.run(fn)))
    if handler is garbage_status_line:  # what the two HTTP parsers say about the bytes differs, nothing else
        assert looped[0] == direct[0] == "error"
        assert looped[1][:2] == direct[1][:2]  # type: ignore[index]
        assert looped[1][2].split(" (")[0] == direct[1][2].split(" (")[0]  # type: ignore[index]
        return
    assert looped == direct
    assert SECRET not in repr(looped)
