"""Pieces shared by the wire-format modules (``openai.py``, ``anthropic.py``). Pure, standard library only."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relaycli.core.scrub import scrub
from relaycli.datatypes import Usage
from relaycli.errors import ConfigError, EndpointError


@dataclass(frozen=True, slots=True)
class Completion:
    """A parsed non-streaming response."""

    text: str
    model: str | None
    finish_reason: str | None
    usage: Usage
    response_id: str | None = None
    reasoning: str = ""


def as_int(value: Any) -> int | None:
    """A token count, or None when absent or not a number (bools are not counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def short(text: str, limit: int = 120) -> str:
    """One line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_CLOSING = {"(": ")", "[": "]", "{": "}"}


def clause(text: str, limit: int = 120) -> str:
    """One line of prose, at most ``limit`` characters: cut at a word boundary, with an ellipsis, and
    with the brackets the cut left open closed again."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: max(limit - 4, 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    cut = cut.rstrip(" ,;:-([{")
    opened: list[str] = []
    for char in cut:
        if char in _CLOSING:
            opened.append(_CLOSING[char])
        elif opened and char == opened[-1]:
            opened.pop()
    return cut + "…" + "".join(reversed(opened))


@dataclass(frozen=True, slots=True)
class Peer:
    """The other end of a request as errors name it, and the key it was sent.

    Every error built from what a peer sent names it through ``name`` and quotes it through ``said``, so
    the host is in the message from the start and the key never is (scrubbed before any shortening could
    cut it into an unrecognisable prefix).
    """

    host: str = ""  # host[:port]; empty: not known (pure parsing in tests)
    profile: str = ""
    secret: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        if not self.host:
            return "the endpoint"
        return f"{self.host} (profile '{self.profile}')" if self.profile else self.host

    def scrub(self, text: str) -> str:
        return scrub(text, self.secret)

    def said(self, text: str, limit: int = 120) -> str:
        """Text the peer sent, fit for a message: the key removed, then shortened to one line."""
        return short(scrub(text, self.secret), limit)


UNNAMED = Peer()


def load_json_object(data: str, *, what: str, peer: Peer = UNNAMED) -> dict[str, Any]:
    """Parse one JSON object from the endpoint; anything else is a malformed response."""
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise EndpointError(f"malformed {what} from {peer.name} (not JSON): {peer.said(data) or '(empty)'!r}") from exc
    if not isinstance(obj, dict):
        raise EndpointError(f"malformed {what} from {peer.name} (not a JSON object): {peer.said(data)!r}")
    return obj


def check_headers(headers: Mapping[str, str], *, profile: str) -> Mapping[str, str]:
    """``headers``, unless a value holds a line break or NUL (a key pasted with its newline, say): sent, it
    would end the header early. The error names the header, never its value."""
    for name, value in headers.items():
        if any(c in value for c in "\r\n\0"):
            raise ConfigError(
                f"profile '{profile}': the {name} header holds a line break or NUL character; "
                "check the API key (and the profile's headers) for a stray \\r or \\n"
            )
    return headers


# -- recognising bodies (shared by the httpx client and the socket-level bench/ping) --

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def body_kind(content_type: str) -> str:
    """``sse``, ``json``, ``html``, ``unknown`` (no Content-Type) or ``other``."""
    media = media_type(content_type)
    if media == "text/event-stream":
        return "sse"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media in ("text/html", "application/xhtml+xml"):
        return "html"
    return "unknown" if not media else "other"


def looks_like_html(content_type: str, body: bytes) -> bool:
    if body_kind(content_type) == "html":
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def html_excerpt(body: bytes, peer: Peer = UNNAMED) -> str:
    """The page's title, or the start of its text (the key scrubbed)."""
    from html import unescape  # only for an error page

    match = _TITLE.search(body[:65536])
    if match:
        title = peer.said(unescape(match.group(1).decode("utf-8", errors="replace")), 100)
        if title:
            return title
    text = unescape(_TAG.sub(" ", body[:65536].decode("utf-8", errors="replace")))
    return peer.said(text, 100) or "(empty page)"
