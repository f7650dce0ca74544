"""Turning what went wrong on the wire into RelayErrors with messages that say what to do next.

``transport_error`` is where httpx exceptions become RelayErrors (the client raises them ``from`` the
httpx exception). The rest reads error bodies: OpenAI ``{"error": {"message", "type"}}``, Anthropic
``{"type": "error", "error": {...}}``, vLLM ``{"object": "error", ...}``, FastAPI ``{"detail": ...}``,
HTML pages (their ``<title>``) and plain text (a short excerpt). No message ever contains a key.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable

import httpx

from relaycli.config.profile import Profile
from relaycli.core.formats.common import clause
from relaycli.core.formats.error_body import body_excerpt, error_message
from relaycli.core.proxy import Proxy
from relaycli.core.retry import FailureKind
from relaycli.core.scrub import scrub
from relaycli.core.status import status_error, timeout_error
from relaycli.errors import (
    ConfigError,
    NetworkError,
    RelayError,
)

__all__ = ["body_excerpt", "error_message", "scrub", "status_error", "timeout_error", "transport_error"]

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
# the built-in profiles that talk to the local relay (see config.loader.builtin_profiles)
MOCK_PROFILES = frozenset({"mock", "mock-anthropic"})


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
    secret: str | None = None,
    proxy: Proxy | None = None,
) -> tuple[RelayError, FailureKind]:
    """The RelayError for an httpx exception raised before the response began, and its failure kind.
    ``secret`` (the key sent) is scrubbed from the exception's text before it is shortened. ``proxy``: the
    proxy the request went through, blamed (rather than the endpoint) when it could not be reached."""

    def short(text: str, limit: int) -> str:
        return clause(scrub(text, secret), limit)

    t = profile.timeout
    if proxy is not None and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
        return _proxy_error(exc, proxy, profile, url, short), "connect"
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
                f"cannot resolve host {url.host} (profile '{profile.name}'): check base_url and your DNS/network"
            ), "fatal"
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(h in text for h in _REFUSED_HINTS):
            if profile.name in MOCK_PROFILES and _loopback(url.host):
                return NetworkError(
                    f"connection refused by {where}: the built-in local relay is not running",
                    hint="start it with `relay mock-server"
                    + ("" if url.port in (None, 8765) else f" --port {url.port}")
                    + "` in another terminal (RELAY_MOCK_URL moves it)",
                ), "connect"
            return NetworkError(f"connection refused by {where}: is the server running?"), "connect"
        if any(isinstance(e, ssl.SSLError) for e in chain) or any(h in text for h in _TLS_HINTS):
            return NetworkError(f"TLS error talking to {where}: {short(str(exc), 160)}"), "fatal"
        return NetworkError(f"cannot connect to {where}: {short(str(exc), 160) or type(exc).__name__}"), "connect"
    if isinstance(exc, httpx.ProxyError):
        return NetworkError(f"proxy error on the way to {where}: {short(str(exc), 160)}"), "fatal"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError | httpx.CloseError):
        detail = short(str(exc), 120) or type(exc).__name__
        return NetworkError(f"the connection to {where} was closed or reset ({detail})"), "connect"
    return NetworkError(f"request to {where} failed: {short(str(exc), 160) or type(exc).__name__}"), "fatal"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _proxy_error(
    exc: httpx.HTTPError, proxy: Proxy, profile: Profile, url: httpx.URL, short: Callable[[str, int], str]
) -> NetworkError:
    """The proxy could not be reached, or refused to carry the request: name it, and where it was set."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        what = f"could not connect within {profile.timeout.connect:g} s"
    elif any(isinstance(e, ConnectionRefusedError) for e in chain) or any(h in text for h in _REFUSED_HINTS):
        what = "connection refused"
    else:
        what = short(str(exc), 120) or type(exc).__name__
    verb = "refused the request" if isinstance(exc, httpx.ProxyError) else "could not be reached"
    return NetworkError(
        f"the proxy {proxy.shown} (from {proxy.variable}) {verb} on the way to {_host_port(url)} "
        f"(profile '{profile.name}'): {what}",
        hint=f"check {proxy.variable}, or add {url.host} to NO_PROXY to connect directly",
    )
