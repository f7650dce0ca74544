"""What the raw-socket clients (``engine`` for bench, ``probe`` for ping) share: TLS contexts, name
resolution, and turning socket errors into a failure class and a RelayError whose message says what to
do next."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from relaycli.core.formats.common import short
from relaycli.errors import ConfigError, EndpointError, NetworkError, RelayError, RelayTimeout, TruncatedResponse


def ssl_context(env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A verifying client context: ``SSL_CERT_FILE`` if set, else certifi's bundle (as httpx), else the
    system's. Loading a bundle costs tens of milliseconds: build it once, only for https targets."""
    env = os.environ if env is None else env
    cafile = env.get("SSL_CERT_FILE") or None
    if cafile is None:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:  # pragma: no cover - certifi comes with httpx
            cafile = None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load CA certificates from {cafile} (SSL_CERT_FILE?): {describe(exc)}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) names for ``url``, if any.
    ``relay bench`` and ``relay ping`` time the direct path and never use it; they say so."""
    import urllib.request

    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return proxy


def proxy_warning(profile_name: str, url: str, command: str) -> str | None:
    proxy = proxy_for(url)
    if proxy is None:
        return None
    return (
        f"{command} connects to {urlsplit(url).netloc} (profile {profile_name!r}) directly, not through the proxy "
        f"{proxy} set in the environment: it times the direct path (stream and chat use the proxy)"
    )


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, Any]]:
    """(family, sockaddr) pairs for a TCP connection; raises ``socket.gaierror`` (see ``classify``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [(info[0], info[4]) for info in infos]


def classify(exc: BaseException) -> str:
    """``dns``, ``refused``, ``reset``, ``tls``, ``timeout`` or ``network``."""
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return "reset"
    return "network"


def describe(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, ssl.SSLError) and getattr(exc, "reason", None):
        text = str(exc.reason).replace("_", " ").lower()
        verify = getattr(exc, "verify_message", None)
        if verify:
            text = f"{text}: {verify}"
    return short(str(text), 120)


def relay_error(
    kind: str, exc: BaseException | str, *, host: str, address: str, profile: str, seconds: float = 0
) -> RelayError:
    """The user-facing error for a failure ``kind`` (from ``classify``) while talking to ``address``
    ("host:port") for ``profile``."""
    detail = exc if isinstance(exc, str) else describe(exc)
    where = f"{address} (profile '{profile}')"
    if kind == "dns":
        return NetworkError(
            f"cannot resolve host {host} (profile '{profile}'): {detail}; check base_url and your DNS/network"
        )
    if kind == "refused":
        return NetworkError(f"connection refused by {where}: is the server running?")
    if kind == "reset":
        return NetworkError(f"the connection to {where} was closed or reset ({detail})")
    if kind == "tls":
        return NetworkError(f"TLS error talking to {where}: {detail}")
    if kind == "timeout":
        limit = f" within {seconds:g} s" if seconds else ""
        return RelayTimeout(f"no answer from {where}{limit} ({detail}); raise the profile's timeout or check the host")
    return NetworkError(f"cannot talk to {where}: {detail}")


def exchange_error(
    kind: str, detail: str, *, host: str, address: str, profile: str, seconds: float = 0
) -> RelayError | None:
    """The error for a bench exchange the engine could not complete: a socket failure (``classify``'s kinds),
    ``truncated`` (closed in the middle of the body) or ``protocol`` (not HTTP/1.1 relay can read); None for
    ``interrupted`` (Ctrl-C is not the endpoint's failure)."""
    where = f"{address} (profile '{profile}')"
    if kind == "interrupted":
        return None
    if kind == "truncated":
        return TruncatedResponse(f"the connection to {where} closed in the middle of the response ({detail})")
    if kind == "protocol":
        return EndpointError(f"{where} sent a broken HTTP response: {detail}")
    return relay_error(kind, detail, host=host, address=address, profile=profile, seconds=seconds)
