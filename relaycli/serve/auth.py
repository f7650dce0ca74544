"""Client keys for ``relay serve``: kept as SHA-256 digests, checked in constant time.

A client presents its key as ``Authorization: Bearer KEY`` (OpenAI SDKs) or ``x-api-key: KEY`` (Anthropic
SDKs). The key's name is the ledger tag of its requests. A client key never goes upstream: upstream
requests carry the profile's own key only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from relaycli.config.serve import ClientKey
from relaycli.errors import ConfigError

__all__ = ["ClientKeys", "presented_key"]


@dataclass(frozen=True, slots=True)
class ClientKeys:
    digests: tuple[tuple[str, bytes], ...]  # (name, SHA-256 digest)

    @classmethod
    def resolve(cls, keys: tuple[ClientKey, ...], env: Mapping[str, str]) -> ClientKeys:
        """The configured keys, an ``env`` key read (and hashed) now; a missing variable is a ConfigError."""
        digests: list[tuple[str, bytes]] = []
        for key in keys:
            if key.env is not None:
                value = env.get(key.env, "").strip()
                if not value:
                    raise ConfigError(
                        f"[serve] keys: {key.name!r} is read from ${key.env}, which is not set",
                        hint=f"export {key.env}=... before `relay serve`",
                    )
                digests.append((key.name, hashlib.sha256(value.encode("utf-8")).digest()))
            else:
                assert key.sha256 is not None
                digests.append((key.name, bytes.fromhex(key.sha256)))
        return cls(tuple(digests))

    @property
    def required(self) -> bool:
        return bool(self.digests)

    def check(self, presented: str | None) -> str | None:
        """The name of the key ``presented`` is, or None. Every digest is compared, each in constant time."""
        if presented is None:
            return None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: str | None = None
        for name, expected in self.digests:
            if hmac.compare_digest(digest, expected) and found is None:
                found = name
        return found


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key a client sent: ``x-api-key``, else a bearer token."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
