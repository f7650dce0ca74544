"""Pieces shared by the wire-format modules (``openai.py``, ``anthropic.py``). Pure, standard library only."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from typing import Any

from relaycli.datatypes import Usage
from relaycli.errors import EndpointError


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


def load_json_object(data: str, *, what: str) -> dict[str, Any]:
    """Parse one JSON object from the endpoint; anything else is a malformed response."""
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise EndpointError(
            f"malformed {what} from the endpoint (not JSON): {short(data) or '(empty)'!r}"
        ) from exc
    if not isinstance(obj, dict):
        raise EndpointError(f"malformed {what} from the endpoint (not a JSON object): {short(data)!r}")
    return obj


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


def html_excerpt(body: bytes) -> str:
    """The page's title, or the start of its text."""
    match = _TITLE.search(body[:65536])
    if match:
        title = short(unescape(match.group(1).decode("utf-8", errors="replace")), 100)
        if title:
            return title
    text = unescape(_TAG.sub(" ", body[:65536].decode("utf-8", errors="replace")))
    return short(text, 100) or "(empty page)"
