"""The ``[serve]`` table: where ``relay serve`` listens, which client keys it accepts, how model names
route to profiles, and how large a request may be.

::

    [serve]
    host = "127.0.0.1"
    port = 8787
    max_body = "4MB"
    keys = { alice = "sha256:9f86d0...", ci = { env = "RELAY_SERVE_KEY_CI" } }

    [serve.routes]
    "claude-*" = "anthropic"
    "gpt-*" = "openai"

A client key is kept as its SHA-256 (``relay serve --hash-key`` prints it) or read from an environment
variable when the server starts; the key's name becomes the ledger tag of the requests made with it.
Routes are shell patterns (``*``, ``?``, ``[...]``) tried in the order written.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClientKey", "ServeSettings", "hash_key"]

DEFAULT_PORT = 8787
DEFAULT_MAX_BODY = 4 * 1000**2
SERVE_KEYS = frozenset({"host", "port", "max_body", "keys", "routes"})


@dataclass(frozen=True, slots=True)
class ClientKey:
    """One client key: its name (the ledger tag) and where its value comes from."""

    name: str
    sha256: str | None = None  # hex digest of the key
    env: str | None = None  # or the environment variable that holds the key itself


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """The ``[serve]`` table (``relay serve``)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    max_body: int = DEFAULT_MAX_BODY  # bytes of one request body; more is refused with 413
    keys: tuple[ClientKey, ...] = ()
    routes: tuple[tuple[str, str], ...] = ()  # (model pattern, profile name), in the order written


def hash_key(key: str) -> str:
    """The form a client key is kept in the config: ``sha256:`` and the hex digest of its UTF-8 bytes."""
    import hashlib  # loads OpenSSL: only when a key is hashed

    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
