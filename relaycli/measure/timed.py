"""The bench engine's data: where a target's requests go (``Wire``) and one request with everything observed
about it (``TimedRequest``). No I/O."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from relaycli.errors import RelayError
from relaycli.measure.http1 import Origin


@dataclass(slots=True, eq=False)
class Wire:
    """Where one target's requests go: the origin, its resolved address and its limits."""

    origin: Origin
    family: socket.AddressFamily
    sockaddr: Any
    ssl_context: ssl.SSLContext | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    total_timeout_s: float = 600.0
    profile: str = ""  # the profile's name, for errors


@dataclass(slots=True, eq=False)
class TimedRequest:
    """One request and everything observed about it (``perf_counter_ns`` timestamps)."""

    wire: int
    payload: bytes
    tag: Any = None
    t_sched: int | None = None
    t_send: int = 0
    connect_ns: int | None = None  # TCP connect, when this request opened its connection
    tls_ns: int | None = None
    reused: bool = False
    t_headers: int | None = None
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    pieces: list[tuple[int, bytes]] = field(default_factory=list)  # (read time, body bytes)
    t_end: int = 0
    error: str | None = None  # the failure's kind: dns, refused, reset, tls, timeout, network, truncated, ...
    detail: str = ""
    failure: RelayError | None = None  # the same failure as a RelayError (None when ok or interrupted)
    t_last_io: int = 0
