"""Helpers for the limits tests: a clock that only moves when something sleeps, profiles with limits, and
guards on one ``limits.db`` as separate processes would hold them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from relaycli.config.profile import Breaker, Limits, Profile, Timeouts
from relaycli.datatypes import ChatRequest, Message, Notes
from relaycli.limits.guard import SharedGuard

T0 = 1_800_000_000.0  # a Unix time in 2027


@dataclass
class Clock:
    """Unix time that advances only when a guard sleeps; ``during`` runs something in the middle of a sleep
    (another process acting while this one waits)."""

    now: float = T0
    slept: list[float] = field(default_factory=list)
    during: list[Callable[[], None]] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.during:
            self.during.pop(0)()

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Said:
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def notes_sink(self) -> Notes:
        return Notes(note=self.notes.append, warn=self.warnings.append)


def profile(
    name: str = "p",
    *,
    limits: Limits | None = None,
    breaker: Breaker | None = None,
    total: float = 600.0,
) -> Profile:
    return Profile(
        name=name,
        base_url="http://127.0.0.1:9/v1",
        limits=limits or Limits(),
        breaker=breaker or Breaker(),
        timeout=Timeouts(total=total),
    )


def request(text: str = "hello") -> ChatRequest:
    return ChatRequest(model="m", messages=(Message("user", text),))


def guard(
    path: Path,
    clock: Clock,
    *,
    pid: int = 1001,
    alive: Callable[[int], bool] | None = None,
    warnings: list[str] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> SharedGuard:
    sink = warnings if warnings is not None else []
    return SharedGuard(
        path,
        warn=sink.append,
        clock=clock,
        sleep=sleep or clock.sleep,
        alive=alive or (lambda _pid: True),
        pid=pid,
    )
