"""The cache key: a SHA-256 of a canonical encoding of everything that can change an answer.

What goes in: the cache format version, the protocol, the endpoint (scheme, host, port, path and query of
the chat URL; never user:password, nor a query parameter that carries a credential, such as ``?key=``),
the headers that can change the answer (the format's own, such as ``anthropic-version``, and the profile's
``headers``, ``anthropic-beta`` among them; never one whose name says it may carry a credential: key,
token, secret, auth, cookie, password, as ``relay config show`` masks them), and the request body exactly
as the wire format builds it: the model as sent, the system prompt, every message, and every generation
parameter that is sent. A parameter that is not sent is simply absent, so an omitted ``temperature`` never
meets ``temperature = 0``. Left out: ``stream`` and ``stream_options``, which change how the answer
travels, not what it says, and the API key.

Canonical means: keys sorted, no spaces, a float with an integral value written as the integer (JSON's
``1.0`` and ``1`` are the same number to a server), text as UTF-8.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from relaycli.core.formats import api_url, for_protocol

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.datatypes import ChatRequest

__all__ = ["FORMAT_VERSION", "cache_key", "key_document"]

try:  # the interpreter's own SHA-256: the same digests as hashlib's, without loading OpenSSL (~2.5 ms)
    from _sha2 import sha256 as _sha256  # Python 3.12+
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256 as _sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256 as _sha256

FORMAT_VERSION = 1
_TRANSPORT_FIELDS = ("stream", "stream_options")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# a header or query parameter whose name says it may carry a credential (the rule `config show` masks by)
_CREDENTIAL = re.compile(r"key|token|secret|auth|cookie|passw|credential|^(?:sig|signature|code)$", re.IGNORECASE)


def cache_key(profile: Profile, request: ChatRequest) -> str | None:
    """The key of ``request`` sent to ``profile``, or None when the request cannot be encoded exactly (a
    parameter that is not a JSON value): such a request is never cached."""
    try:
        text = canonical(key_document(profile, request))
    except (TypeError, ValueError):
        return None
    return _sha256(text.encode("utf-8")).hexdigest()


def key_document(profile: Profile, request: ChatRequest) -> dict[str, Any]:
    """What the key is a hash of (tests compare these; nothing stores them)."""
    fmt = for_protocol(profile.protocol)
    body = fmt.build_request(request, include_usage=False)
    for name in _TRANSPORT_FIELDS:
        body.pop(name, None)
    headers = {**fmt.auth_headers(None), **profile.headers, **request.headers}
    return {
        "v": FORMAT_VERSION,
        "protocol": profile.protocol,
        "endpoint": endpoint(profile),
        "headers": {name.lower(): value for name, value in headers.items() if not _credential(name)},
        "body": body,
    }


def endpoint(profile: Profile) -> str:
    """The chat URL with the scheme and host in lower case, the default port dropped and no user:password."""
    known = _ENDPOINTS.get(id(profile))  # a gateway or a batch asks for the same profiles on every request
    if known is not None and known[0] is profile:
        return known[1]
    if len(_ENDPOINTS) >= 64:
        _ENDPOINTS.clear()
    url = _ENDPOINTS[id(profile)] = (profile, _endpoint(profile))
    return url[1]


_ENDPOINTS: dict[int, tuple[Profile, str]] = {}  # by profile (held, so that its id stays its own)


@functools.lru_cache(maxsize=256)
def _credential(name: str) -> bool:
    return _CREDENTIAL.search(name) is not None


def _endpoint(profile: Profile) -> str:
    parts = urlsplit(api_url(profile, "chat"))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = _public_query(parts.query)
    return f"{scheme}://{netloc}{parts.path}{'?' + query if query else ''}"


def _public_query(query: str) -> str:
    """The query without the parameters that may carry a credential (Google's ``?key=``, a signature)."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_CREDENTIAL.search(name) for name, _ in pairs):
        return query  # as written: its own spelling is the endpoint's business
    return urlencode([(name, value) for name, value in pairs if not _CREDENTIAL.search(name)])


def canonical(value: Any) -> str:
    return json.dumps(_normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    raise TypeError(f"not a JSON value: {type(value).__name__}")
