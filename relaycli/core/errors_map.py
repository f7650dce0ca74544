"""Turning what went wrong on the wire into RelayErrors with messages that say what to do next.

``transport_error`` is where httpx exceptions become RelayErrors (the client raises them ``from`` the
httpx exception). The rest reads error bodies: OpenAI ``{"error": {"message", "type"}}``, Anthropic
``{"type": "error", "error": {...}}``, vLLM ``{"object": "error", ...}``, FastAPI ``{"detail": ...}``,
HTML pages (their ``<title>``) and plain text (a short excerpt). No message ever contains a key.
"""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

import httpx

from relaycli.config.profile import Profile
from relaycli.core.formats.common import html_excerpt, looks_like_html, short
from relaycli.core.retry import FailureKind
from relaycli.errors import (
    APIError,
    AuthError,
    ConfigError,
    EndpointError,
    NetworkError,
    RateLimited,
    RelayError,
    RelayTimeout,
)

_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
    "errno -2]",
    "errno -3]",
    "errno -5]",
    "errno 8]",
    "errno 11001]",
)
_TLS_HINTS = ("ssl", "certificate", "tls")
_REFUSED_HINTS = ("refused", "errno 111]", "errno 61]", "errno 10061]")


def body_excerpt(body: bytes, content_type: str) -> str:
    if looks_like_html(content_type, body):
        return html_excerpt(body)
    return short(body[:4096].decode("utf-8", errors="replace"), 160)


def error_message(body: bytes, content_type: str) -> tuple[str, str | None]:
    """The endpoint's own error message and error type, from any of the error-body dialects."""
    if looks_like_html(content_type, body):
        return f"HTML page {html_excerpt(body)!r}", None
    try:
        obj: Any = json.loads(body)
    except ValueError:
        return short(body[:4096].decode("utf-8", errors="replace"), 200), None
    if not isinstance(obj, dict):
        return short(json.dumps(obj), 200), None
    err = obj.get("error")
    if isinstance(err, dict):
        kind = err.get("type") or err.get("code")
        message = err.get("message")
        if not isinstance(message, str) or not message:
            message = json.dumps(err)
        return short(message, 300), str(kind) if kind not in (None, "") else None
    if isinstance(err, str) and err:
        return short(err, 300), None
    for field in ("message", "detail", "msg"):
        value = obj.get(field)
        if isinstance(value, str) and value:
            kind = obj.get("type") or obj.get("code")
            return short(value, 300), str(kind) if kind not in (None, "") else None
        if value:
            return short(json.dumps(value), 300), None
    return short(json.dumps(obj), 200), None


def scrub(text: str, secret: str | None) -> str:
    """Remove a key an endpoint echoed back (some do, in 401 messages)."""
    if secret and len(secret) >= 4 and secret in text:
        return text.replace(secret, "***")
    return text


def _where(profile: Profile) -> str:
    return f"{profile.host} (profile '{profile.name}')"


def timeout_error(limit: str, seconds: float, profile: Profile) -> RelayTimeout:
    """``limit``: connect, read, write, pool, content-idle or total."""
    what = {
        "connect": f"could not connect to {profile.host} within {seconds:g} s",
        "read": f"{profile.host} sent nothing for {seconds:g} s",
        "write": f"could not send the request to {profile.host} within {seconds:g} s",
        "pool": f"no free connection to {profile.host} within {seconds:g} s",
        "content-idle": f"{profile.host} kept the connection alive but sent no new content for {seconds:g} s",
        "total": f"the request to {profile.host} took more than {seconds:g} s in all",
    }.get(limit, f"{limit} limit of {seconds:g} s reached")
    t = profile.timeout
    return RelayTimeout(
        f"{limit} timeout: {what} (profile '{profile.name}'). The limit is set by "
        f"`timeout = {{ connect = {t.connect:g}, read = {t.read:g}, total = {t.total:g} }}` in the profile."
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _host_port(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


def transport_error(
    exc: httpx.HTTPError,
    *,
    profile: Profile,
    url: httpx.URL,
    connect_is_total: bool = False,
    read_is_total: bool = False,
) -> tuple[RelayError, FailureKind]:
    """The RelayError for an httpx exception raised before the response began, and its failure kind."""
    t = profile.timeout
    if isinstance(exc, httpx.ConnectTimeout):
        limit, secs = ("total", t.total) if connect_is_total else ("connect", t.connect)
        return timeout_error(limit, secs, profile), "connect_timeout"
    if isinstance(exc, httpx.ReadTimeout):
        limit, secs = ("total", t.total) if read_is_total else ("read", t.read)
        return timeout_error(limit, secs, profile), "read_timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return timeout_error("write", t.read, profile), "connect"
    if isinstance(exc, httpx.PoolTimeout):
        return timeout_error("pool", t.connect, profile), "connect"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConfigError(
            f"profile '{profile.name}': base_url {profile.base_url!r} must start with http:// or https://"
        ), "fatal"
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    where = f"{_host_port(url)} (profile '{profile.name}')"
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(e, socket.gaierror) for e in chain) or any(h in text for h in _DNS_HINTS):
            return NetworkError(
                f"cannot resolve host {url.host} (profile '{profile.name}'): "
                "check base_url and your DNS/network"
            ), "fatal"
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
            h in text for h in _REFUSED_HINTS
        ):
            return NetworkError(f"connection refused by {where}: is the server running?"), "connect"
        if any(isinstance(e, ssl.SSLError) for e in chain) or any(h in text for h in _TLS_HINTS):
            return NetworkError(f"TLS error talking to {where}: {short(str(exc), 160)}"), "fatal"
        return NetworkError(
            f"cannot connect to {where}: {short(str(exc), 160) or type(exc).__name__}"
        ), "connect"
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(f"proxy error on the way to {where}: {short(str(exc), 160)}"), "fatal"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | httpx.CloseError):
        detail = short(str(exc), 120) or type(exc).__name__
        return NetworkError(f"the connection to {where} was closed or reset ({detail})"), "connect"
    return NetworkError(f"request to {where} failed: {short(str(exc), 160) or type(exc).__name__}"), "fatal"


def _retried(retries: int) -> str:
    if not retries:
        return ""
    return f" after {retries} {'retry' if retries == 1 else 'retries'}"


def status_error(
    status: int,
    *,
    message: str,
    profile: Profile,
    key_source: str,
    key_sent: bool,
    request_id: str | None,
    retries: int = 0,
    model: str | None = None,
    suggestions: list[str] | None = None,
    url: str | None = None,
) -> APIError:
    """The error for an HTTP error status (after retries, where they apply)."""
    said = f": {message}" if message else ""
    where = _where(profile)
    kw: dict[str, Any] = {"status": status, "request_id": request_id}
    if status in (401, 403):
        refused = "rejected the API key" if status == 401 else "refused access"
        key = f"key from {key_source}" if key_sent else f"no key was sent ({key_source})"
        return AuthError(
            f"HTTP {status}: {where} {refused}; {key}{said}",
            hint=f"check the key ({key_source}) and that it is meant for {profile.host}",
            **kw,
        )
    if status == 404:
        if suggestions is not None and model:
            guess = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
            return APIError(
                f"HTTP 404: model {model!r} not found at {where}{said.rstrip('.')}.{guess} "
                f"Run `relay models -p {profile.name}` to list the models it offers.",
                **kw,
            )
        path = f" for {url}" if url else ""
        return APIError(
            f"HTTP 404: not found at {where}{path}{said}",
            hint="check base_url in the profile (does it need a /v1 suffix?)",
            **kw,
        )
    if status == 429:
        return RateLimited(f"HTTP 429: rate limited by {where}{_retried(retries)}{said}", **kw)
    if 500 <= status <= 599:
        return EndpointError(f"HTTP {status}: server error from {where}{_retried(retries)}{said}", **kw)
    if 300 <= status <= 399:
        return EndpointError(
            f"HTTP {status}: {where} answered with a redirect{said}; relay does not follow redirects "
            "(the key must not go to another host): fix base_url",
            **kw,
        )
    about = f" (model {model!r})" if model else ""
    return APIError(f"HTTP {status}: {where} rejected the request{about}{_retried(retries)}{said}", **kw)
