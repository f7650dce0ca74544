"""What the guard says: a refusal while the circuit is open, a wait past the deadline, the wait note."""

from __future__ import annotations

import time
from dataclasses import dataclass

from relaycli.config.profile import Profile
from relaycli.errors import CircuitOpen, RateLimited
from relaycli.limits.breaker import Circuit
from relaycli.limits.state import seconds_text

__all__ = ["Wait", "open_error", "past_deadline", "waiting_note"]


@dataclass(frozen=True, slots=True)
class Wait:
    """How long a request must wait for its turn, and for what."""

    seconds: float
    why: str
    poll: bool  # the end of the wait is not known (a free slot, a higher-priority request): look again soon


def open_error(profile: Profile, circuit: Circuit, now: float) -> CircuitOpen:
    since = time.strftime("%H:%M", time.localtime(circuit.opened_at or now))
    count = circuit.failures_at_open or circuit.consecutive
    if circuit.state == "half_open":
        nxt = "a probe request is under way"
    else:
        nxt = f"next probe in {seconds_text(max((circuit.until or now) - now, 0.0))}"
    last = f"; last error: {circuit.last_error}" if circuit.last_error else ""
    return CircuitOpen(
        f"circuit open for profile {profile.name!r} since {since} after {count} failure{'s' if count != 1 else ''}"
        f"; {nxt}{last}",
        hint=f"`relay ping -p {profile.name}` shows it; `relay ping -p {profile.name} --reset` closes it now",
        network=circuit.last_kind == "network",
    )


def past_deadline(profile: Profile, outcome: Wait, *, waited: float) -> RateLimited:
    total = profile.timeout.total
    if outcome.poll:
        said = f"profile {profile.name!r} waited {seconds_text(waited)} for {outcome.why} until the request's "
        said += f"total deadline ({total:g} s)"
    else:
        said = f"profile {profile.name!r} would have to wait {seconds_text(outcome.seconds)} for {outcome.why}, "
        said += f"past the request's total deadline ({total:g} s)"
    return RateLimited(said, hint="try again later, raise the profile's timeout.total, or add a fallback profile")


def waiting_note(profile: Profile, outcome: Wait) -> str:
    if outcome.poll:
        return f"profile {profile.name!r}: waiting for {outcome.why}"
    return f"profile {profile.name!r}: waiting {seconds_text(outcome.seconds)} for {outcome.why}"
