"""Keeping a connection after a stream's end marker, so many requests share few connections.

A stream ends at its end marker (``data: [DONE]``, ``message_stop``); relay stops reading there, because a
server may keep the body open. But the HTTP connection can be used again only once the body has ended on
the wire too (the last chunk of a chunked body), and most servers send that at once, often in the same
packet. So after the marker, the rest of the body is read when it has already arrived (in the HTTP
parser's buffer, the TLS layer or the socket), never waited for; otherwise the response is closed and the
connection with it, as before. This looks at httpx's and httpcore's objects (there is no public way to
see what is buffered); anything unexpected there just means the connection is not kept.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from typing import Any

import h11
import httpx

__all__ = ["finish_body"]

_MAX_READS = 4  # the end of a body is one read away; a server still sending after the marker is let go


def finish_body(response: httpx.Response, chunks: Iterator[bytes]) -> None:
    """Read what is left of ``response``'s body through ``chunks`` while it is already here."""
    state = _h11_state(response)
    if state is None:
        return
    try:
        for _ in range(_MAX_READS):
            if state.their_state is h11.DONE:
                return
            buffered, _closed = state.trailing_data
            if not buffered and not _readable(response):
                return
            if next(chunks, None) is None:
                return
    except (httpx.HTTPError, OSError, ValueError):
        return


def _h11_state(response: httpx.Response) -> Any:
    """The h11 connection under an httpx response, or None."""
    stream: Any = response.stream
    for name in ("_stream", "_httpcore_stream", "_stream", "_connection", "_h11_state"):
        stream = getattr(stream, name, None)
        if stream is None:
            return None
    return stream if isinstance(stream, h11.Connection) else None


def _readable(response: httpx.Response) -> bool:
    network = response.extensions.get("network_stream")
    if network is None:
        return False
    try:
        tls = network.get_extra_info("ssl_object")
        if tls is not None and tls.pending():
            return True
        sock = network.get_extra_info("socket")
        return sock is not None and bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError, AttributeError):
        return False
