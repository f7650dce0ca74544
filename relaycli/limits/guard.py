"""``SharedGuard``: the pipeline's guard stage. Before each attempt it checks the profile's circuit, waits
for its rate limits and a pause the server asked for, and takes what the request costs; after it, it
gives back what was over-estimated and tells the circuit how the attempt went. Every response's headers
tighten the shared state (``observe``), so one process's 429 pauses the profile for all of them.

The state lives in ``limits.db`` (``store.py``), shared by every relay process of the user. No lock is
held while a request runs or while waiting: each check is one short transaction, and a wait is a sleep
between checks. Waits go by priority: while a request of higher priority waits, lower ones do not take.

A wait longer than a second is announced; a wait that would pass the request's total deadline is not
begun (``RateLimited``, exit 8, saying how long it would have been). If the store cannot be used at all,
that is one warning and requests go unguarded: limits are never the reason a request fails.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from relaycli.config.profile import Profile
from relaycli.datatypes import ChatRequest, Notes, Result
from relaycli.errors import CircuitOpen, EndpointError, NetworkError, RateLimited, RelayError, RelayTimeout
from relaycli.limits.breaker import Circuit, Kind
from relaycli.limits.bucket import Bucket
from relaycli.limits.headers import read_limits
from relaycli.limits.store import LimitStore, LimitsUnavailable, Tx, pid_alive
from relaycli.pipeline.seams import Priority

__all__ = ["Permit", "SharedGuard", "estimate_tokens"]

RANK: dict[str, int] = {"low": 0, "normal": 1, "high": 2}
POLL_S = 0.05  # how often a request waiting for a free slot or for a higher-priority one looks again
ANNOUNCE_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class Permit:
    profile: Profile
    ticket: str
    leased: bool = False  # holds an in-flight slot
    probe: bool = False  # the half-open circuit's one probe
    estimate: float = 0.0  # tokens taken from the tpm bucket
    quiet: bool = False  # the circuit was closed and clean: a success needs no write


@dataclass(frozen=True, slots=True)
class _Wait:
    seconds: float
    why: str
    poll: bool  # the end of the wait is not known (a free slot, a higher-priority request): look again soon


def estimate_tokens(request: ChatRequest) -> float:
    """Input tokens, roughly: four characters a token, plus a few per message."""
    chars = len(request.system or "") + sum(len(m.content) + 16 for m in request.messages)
    return float(math.ceil(chars / 4) + 4)


class SharedGuard:
    def __init__(
        self,
        path: Path,
        *,
        warn: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        alive: Callable[[int], bool] = pid_alive,
        pid: int | None = None,
    ) -> None:
        self.path = path
        self._warn = warn
        self._clock = clock
        self._sleep = sleep
        self._alive = alive
        self._pid = os.getpid() if pid is None else pid
        self._store: LimitStore | None = None
        self._off = False
        self._lock = threading.Lock()

    # -- the seam --------------------------------------------------------------------------------
    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> Permit | None:
        if not _watched(profile):
            return None
        store = self._open()
        if store is None:
            return None
        start = self._clock()
        deadline = start + profile.timeout.total
        ticket = os.urandom(16).hex()
        estimate = estimate_tokens(request) if profile.limits.tpm else 0.0
        announced = False
        try:
            while True:
                now = self._clock()
                outcome = self._try(store, profile, ticket, RANK[priority], estimate, now)
                if isinstance(outcome, Permit):
                    return outcome
                if now + outcome.seconds > deadline:
                    raise RateLimited(
                        f"profile {profile.name!r} would have to wait {outcome.seconds:.1f} s for {outcome.why}, "
                        f"past the request's total deadline ({profile.timeout.total:g} s)",
                        hint="try again later, raise the profile's timeout.total, or add a fallback profile",
                    )
                if not announced and now - start + outcome.seconds > ANNOUNCE_AFTER_S:
                    announced = True
                    notes.note(f"waiting {_seconds(outcome.seconds)} for {outcome.why} of profile {profile.name!r}")
                self._sleep(min(outcome.seconds, POLL_S) if outcome.poll else max(outcome.seconds, 0.001))
        except LimitsUnavailable as exc:
            self._give_up(exc)
            return None
        except BaseException:
            self._forget_waiter(store, ticket)
            raise

    def exit(self, permit: object, result: Result | None, error: BaseException | None) -> None:
        if not isinstance(permit, Permit):
            return
        verdict = _verdict(error)
        if permit.quiet and verdict == "ok" and not permit.leased and not permit.estimate:
            return  # nothing changed: no write on the common path
        store = self._open()
        if store is None:
            return
        profile = permit.profile
        try:
            with store.transaction() as tx:
                now = self._clock()
                if permit.leased:
                    tx.release(permit.ticket)
                if permit.estimate:
                    self._settle_tokens(tx, profile, permit.estimate, result, now)
                if profile.breaker.enabled:
                    self._learn(tx, profile, permit, verdict, error, now)
        except LimitsUnavailable as exc:
            self._give_up(exc)

    def observe(self, profile: Profile, status: int, headers: Mapping[str, str]) -> None:
        now = self._clock()
        said = read_limits(status, headers, now)
        pause = said.pause_s
        limits = profile.limits
        tighten = (limits.rpm is not None and said.requests_remaining is not None) or (
            limits.tpm is not None and said.tokens_remaining is not None
        )
        asked = status >= 500 and said.retry_after_s is not None and profile.breaker.enabled
        if pause is None and not tighten and not asked:
            return
        store = self._open()
        if store is None:
            return
        try:
            with store.transaction() as tx:
                if pause is not None and status < 500:
                    old = tx.get(profile.name, "pause") or {}
                    until = max(float(old.get("until", 0.0)), now + pause)
                    why = "the rate limit the server reported" if status != 429 else "the wait a 429 asked for"
                    tx.put(profile.name, "pause", {"until": until, "why": why})
                if limits.rpm is not None and said.requests_remaining is not None:
                    bucket = _bucket(tx, profile, "rpm", now)
                    assert bucket is not None
                    bucket.at_most(float(said.requests_remaining), now)
                    tx.put(profile.name, "rpm", _dump(bucket))
                if limits.tpm is not None and said.tokens_remaining is not None:
                    bucket = _bucket(tx, profile, "tpm", now)
                    assert bucket is not None
                    bucket.at_most(float(said.tokens_remaining), now)
                    tx.put(profile.name, "tpm", _dump(bucket))
                if asked:
                    assert said.retry_after_s is not None
                    circuit = Circuit.from_dict(tx.get(profile.name, "breaker"))
                    circuit.server_asked(now + said.retry_after_s)
                    tx.put(profile.name, "breaker", circuit.to_dict())
        except LimitsUnavailable as exc:
            self._give_up(exc)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- one look at the shared state ------------------------------------------------------------
    def _try(
        self, store: LimitStore, profile: Profile, ticket: str, rank: int, estimate: float, now: float
    ) -> Permit | _Wait:
        limits, settings = profile.limits, profile.breaker
        if not limits.any and settings.enabled:
            fast = self._quick(store, profile, now)
            if fast is not None:
                return Permit(profile=profile, ticket=ticket, quiet=fast)
        with store.transaction() as tx:
            circuit = Circuit.from_dict(tx.get(profile.name, "breaker")) if settings.enabled else None
            if circuit is not None and _refused(circuit, now):
                raise _open_error(profile, circuit, now)
            waits: list[_Wait] = []
            pause = tx.get(profile.name, "pause") or {}
            if float(pause.get("until", 0.0)) > now:
                waits.append(_Wait(float(pause["until"]) - now, str(pause.get("why", "a pause")), poll=False))
            rpm = _bucket(tx, profile, "rpm", now)
            if rpm is not None and (wait := rpm.wait_s(1.0, now)) > 0:
                waits.append(_Wait(wait, f"its rpm limit ({limits.rpm:g}/min)", poll=False))
            tpm = _bucket(tx, profile, "tpm", now)
            if tpm is not None and (wait := tpm.wait_s(estimate, now)) > 0:
                waits.append(_Wait(wait, f"its tpm limit ({limits.tpm:g}/min)", poll=False))
            if limits.max_in_flight is not None and tx.in_flight(profile.name, now) >= limits.max_in_flight:
                waits.append(_Wait(POLL_S, f"a free slot (max_in_flight = {limits.max_in_flight})", poll=True))
            if limits.any and tx.waiting_before(profile.name, rank, ticket, now):
                waits.append(_Wait(POLL_S, "requests of higher priority", poll=True))
            if waits:
                longest = max(waits, key=lambda w: w.seconds)
                tx.wait(ticket, profile.name, self._pid, rank, now + longest.seconds + 5.0)
                return longest
            probe = circuit is not None and circuit.admit(now, probe_s=profile.timeout.total + 5.0) == "probe"
            if probe and circuit is not None:
                tx.put(profile.name, "breaker", circuit.to_dict())
            for name, bucket, cost in (("rpm", rpm, 1.0), ("tpm", tpm, estimate)):
                if bucket is not None:
                    bucket.take(cost, now)
                    tx.put(profile.name, name, _dump(bucket))
            leased = limits.max_in_flight is not None
            if leased:
                tx.lease(ticket, profile.name, self._pid, now + profile.timeout.total + 5.0)
            tx.done_waiting(ticket)
            quiet = circuit is not None and circuit.state == "closed" and circuit.consecutive == 0
            return Permit(
                profile=profile,
                ticket=ticket,
                leased=leased,
                probe=probe,
                estimate=float(tpm is not None) * estimate,
                quiet=quiet and settings.ratio is None,
            )

    def _quick(self, store: LimitStore, profile: Profile, now: float) -> bool | None:
        """Without limits, a closed circuit and no pause need no write: True/False (clean or not) when the
        request may go at once, None when the full check must decide."""
        circuit = Circuit.from_dict(store.read(profile.name, "breaker"))
        pause = store.read(profile.name, "pause") or {}
        if circuit.state != "closed" or float(pause.get("until", 0.0)) > now:
            return None
        return circuit.consecutive == 0 and profile.breaker.ratio is None

    def _settle_tokens(self, tx: Tx, profile: Profile, estimate: float, result: Result | None, now: float) -> None:
        bucket = _bucket(tx, profile, "tpm", now)
        if bucket is None:
            return
        usage = result.usage if result is not None else None
        if usage is not None and usage.known:
            bucket.give_back(estimate - float((usage.prompt_tokens or 0) + (usage.completion_tokens or 0)))
            tx.put(profile.name, "tpm", _dump(bucket))

    def _learn(
        self, tx: Tx, profile: Profile, permit: Permit, verdict: str, error: BaseException | None, now: float
    ) -> None:
        circuit = Circuit.from_dict(tx.get(profile.name, "breaker"))
        if verdict == "ok":
            if circuit.state == "closed" and circuit.consecutive == 0 and profile.breaker.ratio is None:
                return
            circuit.succeeded(now, profile.breaker)
        elif verdict in ("network", "endpoint"):
            kind: Kind = "network" if verdict == "network" else "endpoint"
            circuit.failed(now, profile.breaker, kind=kind, error=_brief(error))
        elif permit.probe and circuit.state == "half_open":  # a probe that told nothing: let the next one go
            circuit.state, circuit.probe_until = "open", None
            circuit.until = now
        else:
            return
        tx.put(profile.name, "breaker", circuit.to_dict())

    # -- plumbing --------------------------------------------------------------------------------
    def _open(self) -> LimitStore | None:
        with self._lock:
            if self._store is None and not self._off:
                try:
                    self._store, reset = LimitStore.open(self.path, alive=self._alive)
                except LimitsUnavailable as exc:
                    self._off = True
                    self._warn(f"limits and circuit breaker skipped: {exc.message}")
                    return None
                if reset:
                    self._warn(reset)
            return self._store

    def _give_up(self, exc: LimitsUnavailable) -> None:
        with self._lock:
            if self._off:
                return
            self._off = True
            if self._store is not None:
                self._store.close()
                self._store = None
        self._warn(f"limits and circuit breaker skipped: {exc.message}")

    def _forget_waiter(self, store: LimitStore, ticket: str) -> None:
        try:
            with store.transaction() as tx:
                tx.done_waiting(ticket)
        except LimitsUnavailable:
            pass


def _watched(profile: Profile) -> bool:
    return profile.breaker.enabled or profile.limits.any


def _refused(circuit: Circuit, now: float) -> bool:
    if circuit.state == "open":
        return circuit.until is not None and now < circuit.until
    if circuit.state == "half_open":
        return circuit.probe_until is not None and now < circuit.probe_until
    return False


def _open_error(profile: Profile, circuit: Circuit, now: float) -> CircuitOpen:
    since = time.strftime("%H:%M", time.localtime(circuit.opened_at or now))
    count = circuit.failures_at_open or circuit.consecutive
    if circuit.state == "half_open":
        nxt = "a probe request is under way"
    else:
        nxt = f"next probe in {_seconds(max((circuit.until or now) - now, 0.0))}"
    last = f" (last: {circuit.last_error})" if circuit.last_error else ""
    return CircuitOpen(
        f"circuit open for profile {profile.name!r} since {since} after {count} failure{'s' if count != 1 else ''}"
        f"{last}; {nxt}",
        hint=f"`relay ping -p {profile.name}` shows it; `relay ping -p {profile.name} --reset` closes it now",
        network=circuit.last_kind == "network",
    )


def _verdict(error: BaseException | None) -> str:
    """How an attempt counts for the circuit: ok (the endpoint answered, a 4xx included), network or
    endpoint (a failure that counts), or neutral (interrupted by the user, rate limited)."""
    if error is None:
        return "ok"
    if isinstance(error, NetworkError):
        return "network"
    if isinstance(error, RelayTimeout | EndpointError):
        return "endpoint"
    if isinstance(error, RateLimited | CircuitOpen):
        return "neutral"
    if isinstance(error, RelayError):
        return "ok"  # a 4xx, a config problem: the endpoint is up
    return "neutral"


def _brief(error: BaseException | None) -> str:
    text = getattr(error, "message", None) or str(error or "")
    return text if len(text) <= 120 else text[:117] + "..."


def _bucket(tx: Tx, profile: Profile, name: str, now: float) -> Bucket | None:
    limits = profile.limits
    per_minute = limits.rpm if name == "rpm" else limits.tpm
    if per_minute is None:
        return None
    capacity = (limits.request_burst or per_minute) if name == "rpm" else per_minute
    rate = per_minute / 60.0
    stored = tx.get(profile.name, name)
    if isinstance(stored, dict):
        try:
            bucket = Bucket(
                float(stored["capacity"]), float(stored["rate"]), float(stored["tokens"]), float(stored["updated"])
            )
        except (KeyError, TypeError, ValueError):
            bucket = Bucket.full(capacity, rate, now)
        if (bucket.capacity, bucket.rate) != (capacity, rate):
            bucket.retune(capacity, rate)
        return bucket
    return Bucket.full(capacity, rate, now)


def _dump(bucket: Bucket) -> dict[str, float]:
    return {"capacity": bucket.capacity, "rate": bucket.rate, "tokens": bucket.tokens, "updated": bucket.updated}


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else f"{value / 60:.1f} min"
