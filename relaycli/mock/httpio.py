"""Just enough HTTP/1.1 for the local relay: read a request (head, Content-Length or chunked body),
write a complete response or a chunked one. Keep-alive is the HTTP/1.1 default."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024
LAST_CHUNK = b"0\r\n\r\n"

_REASONS: dict[int, str] = {status.value: status.phrase for status in HTTPStatus}
_REASONS[529] = "Site Overloaded"


def reason(status: int) -> str:
    """The reason phrase of a status code."""
    return _REASONS.get(status, "Unknown")


class BadRequest(Exception):
    """The bytes on the socket are not a request we can answer; reply with ``status`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: str
    version: str
    headers: dict[str, str]
    """Lower-cased names; repeated headers joined with ", "."""
    body: bytes
    keep_alive: bool
    t_received_ns: int
    """``time.perf_counter_ns()`` when the request's head had arrived."""


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """The next request on the connection, or ``None`` when the client closed it between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(400, "incomplete request head") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "request head too large") from None
    t_received_ns = time.perf_counter_ns()
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes any byte
        raise BadRequest(400, "undecodable request head") from None
    lines = text.split("\r\n")
    # Tolerate stray blank lines before the request line (RFC 9112 section 2.2).
    while lines and not lines[0]:
        lines.pop(0)
    if not lines:
        raise BadRequest(400, "empty request")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, f"malformed header line {line[:80]!r}")
        name = name.lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    connection = headers.get("connection", "").lower()
    keep_alive = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    path, _, query = target.partition("?")
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = await _read_body(reader, headers)
    return Request(method, path, query, version, headers, body, keep_alive, t_received_ns)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    length_text = headers.get("content-length")
    if length_text is None:
        return b""
    try:
        length = int(length_text)
    except ValueError:
        raise BadRequest(400, f"bad content-length {length_text!r}") from None
    if length < 0:
        raise BadRequest(400, f"bad content-length {length_text!r}")
    if length > MAX_BODY:
        raise BadRequest(413, "request body too large")
    return await reader.readexactly(length) if length else b""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest(400, "bad chunk size") from None
        if size == 0:
            # Trailers, then the blank line.
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY:
            raise BadRequest(413, "request body too large")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


_date_cache: tuple[int, bytes] = (0, b"")


def _date() -> bytes:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


def head(status: int, headers: list[tuple[str, str]], *, keep_alive: bool, chunked: bool) -> bytes:
    """The status line and headers of a response (``content-length`` is the caller's to add)."""
    lines = [
        b"HTTP/1.1 %d %s\r\n" % (status, reason(status).encode("ascii")),
        b"date: " + _date() + b"\r\n",
        b"server: relay-mock\r\n",
    ]
    lines.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
    if chunked:
        lines.append(b"transfer-encoding: chunked\r\n")
    lines.append(b"connection: keep-alive\r\n\r\n" if keep_alive else b"connection: close\r\n\r\n")
    return b"".join(lines)


def response(
    status: int,
    content_type: str,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
    *,
    keep_alive: bool,
) -> bytes:
    """A complete response with a ``content-length`` body."""
    all_headers = [("content-type", content_type), ("content-length", str(len(body)))]
    if headers:
        all_headers.extend(headers)
    return head(status, all_headers, keep_alive=keep_alive, chunked=False) + body


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never the empty terminating one)."""
    return b"%x\r\n%b\r\n" % (len(data), data)
