"""One request as ``relay serve`` sees it and as its access log line tells it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Exchange"]


@dataclass(slots=True)
class Exchange:
    method: str
    path: str
    client: str = ""
    status: int = 0
    model: str | None = None
    profile: str | None = None
    route: str | None = None  # why that profile: a route pattern, an alias, the default
    tag: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: Decimal | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    cached: bool = False
    stream: bool = False
    error: str | None = None
