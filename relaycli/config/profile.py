"""Typed configuration objects: what a profile is, once the TOML file has been checked.

Standard library only. ``config.py`` builds these from the file; everything else only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Protocol = Literal["openai", "anthropic"]
PROTOCOLS: tuple[str, ...] = ("openai", "anthropic")


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds. ``read`` is the longest silence inside a response (also the content-idle limit)."""

    connect: float = 5.0
    read: float = 60.0
    total: float = 600.0


@dataclass(frozen=True, slots=True)
class Limits:
    """A profile's client-side limits, shared by every relay process of the user; None: no such limit.

    ``rpm`` and ``tpm`` are token buckets that refill continuously (``rpm / 60`` requests a second) up to
    ``burst`` (default: a minute's worth, as providers' own buckets do); ``tpm`` counts input tokens as
    estimated before sending, reconciled with the usage reported after. ``max_in_flight`` caps the
    requests running at once.
    """

    rpm: float | None = None
    tpm: float | None = None
    max_in_flight: int | None = None
    burst: float | None = None

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.max_in_flight is not None

    @property
    def request_burst(self) -> float | None:
        return None if self.rpm is None else (self.burst if self.burst is not None else self.rpm)


@dataclass(frozen=True, slots=True)
class Breaker:
    """A profile's circuit breaker, shared by every relay process of the user.

    Opens after ``failures`` consecutive failures that count (connection errors, timeouts, 5xx, 529, broken
    streams; never a 4xx), or when ``ratio`` of at least ``min_requests`` requests in the last ``window``
    seconds failed; stays open ``cooldown`` seconds (longer when the server's ``retry-after`` says so), then
    lets one probe through and closes when it succeeds.
    """

    enabled: bool = True
    failures: int = 5
    cooldown: float = 30.0
    ratio: float | None = None
    min_requests: int = 10
    window: float = 60.0


@dataclass(frozen=True, slots=True)
class Billing:
    """What one USD of list price costs on a profile, in the currency the user is billed in."""

    currency: str = "USD"
    per_usd: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class Profile:
    """One endpoint as configured: where it is, how to speak to it, its key's source and its policies."""

    name: str
    base_url: str
    protocol: Protocol = "openai"
    api_key_env: str | None = None
    api_key_cmd: str | None = None
    api_key: str | None = field(default=None, repr=False)
    default_model: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    timeout: Timeouts = field(default_factory=Timeouts)
    retries: int = 2
    billing: Billing = field(default_factory=Billing)
    compare_to: Billing | None = None
    fallback: tuple[str, ...] = ()
    budget: Decimal | None = None  # per calendar month, in the billing currency
    budget_action: Literal["warn", "block"] = "warn"
    needs_key: bool = True
    cache: bool = True  # False: answers of this profile are never read from or written to the cache
    limits: Limits = field(default_factory=Limits)
    breaker: Breaker = field(default_factory=Breaker)

    @property
    def host(self) -> str:
        rest = self.base_url.split("://", 1)[-1]
        return rest.split("/", 1)[0]

    def resolve_model(self, name: str) -> str:
        """The wire name for a model the user typed (aliases resolved)."""
        return self.aliases.get(name, name)


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """An API key and a description of where it came from (for error messages; never the key)."""

    value: str | None
    source: str
    note: str | None = None  # what was corrected on the way (whitespace stripped); never the key
