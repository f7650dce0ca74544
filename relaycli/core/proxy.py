"""Which proxy the environment routes a URL through, so that errors can name it.

The rules are httpx's own (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``, lower-case names
first, as ``urllib.request.getproxies`` reads them); the client then hands the proxy it found to httpx
explicitly, so the proxy an error names is the proxy the request went through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Proxy:
    """The proxy the environment names for a profile's host."""

    url: str  # as configured, credentials included: for httpx only, never for messages
    variable: str  # the environment variable it came from, e.g. HTTPS_PROXY

    @property
    def shown(self) -> str:
        """``host:port`` of the proxy, without credentials: fit for a message."""
        parts = urlsplit(self.url)
        host = parts.hostname or "?"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{host}:{port}"


def _lookup(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    for variable in (name.lower(), name.upper()):
        value = env.get(variable, "").strip()
        if value:
            return value, variable
    return None


def _bypassed(host: str, no_proxy: str) -> bool:
    host = host.lower().strip("[]")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "://" in entry:
            entry = urlsplit(entry).hostname or ""
        entry = entry.strip("[]")
        if _is_ip(entry) or entry == "localhost":
            if host == entry:
                return True
        elif entry.startswith("."):
            if host.endswith(entry):
                return True
        elif host == entry or host.endswith("." + entry):
            return True
    return False


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def environment_proxy(url: str, env: Mapping[str, str]) -> Proxy | None:
    """The proxy the environment names for ``url``, or None (no proxy, or the host is in NO_PROXY)."""
    parts = urlsplit(url)
    found = _lookup(env, f"{parts.scheme}_proxy") or _lookup(env, "all_proxy")
    if found is None:
        return None
    no_proxy = _lookup(env, "no_proxy")
    if no_proxy is not None and _bypassed(parts.hostname or "", no_proxy[0]):
        return None
    value, variable = found
    return Proxy(value if "://" in value else f"http://{value}", variable.upper())
