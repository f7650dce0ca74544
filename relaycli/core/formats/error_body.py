"""Reading an endpoint's error answer: its own message and error type from any of the error-body dialects
(OpenAI ``{"error": {"message", "type"}}``, Anthropic ``{"type": "error", "error": {...}}``, vLLM
``{"object": "error", ...}``, FastAPI ``{"detail": ...}``), an HTML page's ``<title>``, or a short excerpt of
plain text. Pure, standard library only: the httpx client, ``relay ping`` and ``relay bench`` all use it, and
the key the request carried is scrubbed from the text before anything is shortened."""

from __future__ import annotations

import json
from typing import Any

from relaycli.core.formats.common import UNNAMED, Peer, html_excerpt, looks_like_html


def body_excerpt(body: bytes, content_type: str, peer: Peer = UNNAMED) -> str:
    if looks_like_html(content_type, body):
        return html_excerpt(body, peer)
    return peer.said(body[:4096].decode("utf-8", errors="replace"), 160)


def error_message(body: bytes, content_type: str, peer: Peer = UNNAMED) -> tuple[str, str | None]:
    """The endpoint's own error message and error type, from any of the error-body dialects."""
    if looks_like_html(content_type, body):
        return f"HTML page {html_excerpt(body, peer)!r}", None
    text = peer.scrub(body[:65536].decode("utf-8", errors="replace"))
    try:
        obj: Any = json.loads(text)
    except ValueError:
        return peer.said(text[:4096], 200), None
    if not isinstance(obj, dict):
        return peer.said(json.dumps(obj), 200), None
    err = obj.get("error")
    if isinstance(err, dict):
        kind = err.get("type") or err.get("code")
        message = err.get("message")
        if not isinstance(message, str) or not message:
            message = json.dumps(err)
        return peer.said(message, 300), str(kind) if kind not in (None, "") else None
    if isinstance(err, str) and err:
        return peer.said(err, 300), None
    for field in ("message", "detail", "msg"):
        value = obj.get(field)
        if isinstance(value, str) and value:
            kind = obj.get("type") or obj.get("code")
            return peer.said(value, 300), str(kind) if kind not in (None, "") else None
        if value:
            return peer.said(json.dumps(value), 300), None
    return peer.said(json.dumps(obj), 200), None
