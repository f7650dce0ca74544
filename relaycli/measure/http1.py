"""Just enough HTTP/1.1 to time requests precisely: origins, request bytes, and an incremental response
reader (head, then a chunked, content-length or read-until-close body).

Pure: no sockets here (``engine`` and ``probe`` do the I/O). The reader is built for the hot path of
``relay bench``: feeding it one ``recv`` costs a few microseconds, so the socket loop can timestamp every
read and leave event-stream and JSON parsing for later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from relaycli.core.formats import api_path, api_url
from relaycli.core.formats.common import check_headers
from relaycli.errors import ConfigError

MAX_HEAD = 64 * 1024

__all__ = [
    "MAX_HEAD",
    "Origin",
    "ProtocolError",
    "ResponseReader",
    "api_path",
    "api_url",
    "encode_request",
    "parse_origin",
]


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int
    base_path: str  # without a trailing slash

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f"{host}:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_origin(url: str, *, profile: str | None = None) -> Origin:
    parts = urlsplit(url)
    where = f"profile '{profile}': " if profile else ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}base_url {url!r} must start with http:// or https:// and name a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(f"{where}base_url {url!r} has an invalid port") from None
    return Origin(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))


def encode_request(
    method: str,
    origin: Origin,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None = None,
    *,
    profile: str = "?",
) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive, the default). A header value with a line break is a
    ConfigError (``profile`` names the profile in it)."""
    check_headers(headers, profile=profile)
    lines = [f"{method} {path or '/'} HTTP/1.1", f"Host: {origin.host_header}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class ProtocolError(Exception):
    """The bytes from the server are not an HTTP/1.1 response relay can read."""


_SIZE, _DATA, _CRLF, _TRAILER, _LENGTH, _CLOSE, _DONE = range(7)


class ResponseReader:
    """Feed it the bytes of one response as they arrive; ``feed`` returns the body bytes they carry.

    ``head_done`` turns true once the status line and headers are in; ``done`` once the body ended by its
    framing. A body framed by the connection closing ends at ``eof()``.
    """

    __slots__ = (
        "status",
        "reason",
        "headers",
        "head_done",
        "done",
        "keep_alive",
        "_head",
        "_state",
        "_need",
        "_line",
        "_head_only",
    )

    def __init__(self, *, head_only: bool = False) -> None:
        self.status = 0
        self.reason = ""
        self.headers: dict[str, str] = {}
        self.head_done = False
        self.done = False
        self.keep_alive = True
        self._head = bytearray()
        self._state = _SIZE
        self._need = 0
        self._line = bytearray()
        self._head_only = head_only  # a response to HEAD has no body whatever its headers say

    def feed(self, data: bytes) -> bytes:
        if not self.head_done:
            data = self._feed_head(data)
            if not self.head_done or not data:
                return b""
        state = self._state
        if state == _LENGTH:
            if len(data) >= self._need:
                data = data[: self._need]
                self._need = 0
                self._state = _DONE
                self.done = True
                return data
            self._need -= len(data)
            return data
        if state == _CLOSE:
            return data
        if state == _DONE:
            return b""
        return self._chunked(data)

    def eof(self) -> None:
        """The connection closed. Fine for a body framed by the close; otherwise ``ProtocolError``."""
        if self.done:
            return
        if self.head_done and self._state == _CLOSE:
            self._state = _DONE
            self.done = True
            return
        raise ProtocolError(
            "the connection closed before the response ended"
            if self.head_done
            else "the connection closed before a response"
        )

    # -- head ---------------------------------------------------------------------------------

    def _feed_head(self, data: bytes) -> bytes:
        buf = self._head
        start = max(len(buf) - 3, 0)
        buf += data
        end = buf.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise ProtocolError("response head too large")
            return b""
        rest = bytes(buf[end + 4 :])
        self._parse_head(bytes(buf[:end]))
        if 100 <= self.status < 200 and self.status != 101:  # an interim response: the real one follows
            self.status, self.headers, self.head_done = 0, {}, False
            self._head = bytearray()
            return self._feed_head(rest) if rest else b""
        return rest

    def _parse_head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.1 response: {lines[0][:60]!r}")
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                value = value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.headers = headers
        self.head_done = True
        connection = headers.get("connection", "").lower()
        self.keep_alive = "close" not in connection and (parts[0] != "HTTP/1.0" or "keep-alive" in connection)
        if self._head_only or self.status in (204, 304):
            self._state, self.done = _DONE, True
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _SIZE
        elif "content-length" in headers:
            try:
                self._need = int(headers["content-length"])
            except ValueError:
                raise ProtocolError(f"bad content-length {headers['content-length']!r}") from None
            self._state = _LENGTH
            if self._need == 0:
                self._state, self.done = _DONE, True
        else:
            self._state = _CLOSE
            self.keep_alive = False

    # -- chunked body ---------------------------------------------------------------------------

    def _chunked(self, data: bytes) -> bytes:
        out: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._need, end - pos)
                out.append(data[pos : pos + take])
                pos += take
                self._need -= take
                if self._need == 0:
                    self._state, self._need = _CRLF, 2
            elif state == _CRLF:
                take = min(self._need, end - pos)
                pos += take
                self._need -= take
                if self._need == 0:
                    self._state = _SIZE
            elif state == _DONE:
                break
            else:  # _SIZE or _TRAILER: a line
                nl = data.find(b"\n", pos)
                if nl < 0:
                    self._line += data[pos:]
                    if len(self._line) > 4096:
                        raise ProtocolError("chunk header too long")
                    break
                line = bytes(self._line) + data[pos:nl] if self._line else data[pos:nl]
                self._line = bytearray()
                pos = nl + 1
                if state == _TRAILER:
                    if not line.strip():
                        self._state, self.done = _DONE, True
                    continue
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {line[:20]!r}") from None
                if size == 0:
                    self._state = _TRAILER
                else:
                    self._state, self._need = _DATA, size
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)
