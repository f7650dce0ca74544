"""``SharedGuard``: the pipeline's guard stage. Before each attempt it checks the profile's circuit, waits
for its rate limits and a pause the server asked for, and takes what the request costs; after it, it
gives back what was over-estimated and tells the circuit how the attempt went. Every response's headers
tighten the shared state (``observe``), so one process's 429 pauses the profile for all of them, and a
profile without an ``rpm`` of its own follows the request bucket the server's headers describe
(``learned.py``). A retry inside the client waits for the same shared state (``retry_sleep``).

The state lives in ``limits.db`` (``store.py``), shared by every relay process of the user. No lock is
held while a request runs or while waiting: each check is one short transaction, and a wait is a sleep
between checks. Waits go by priority: while a request of higher priority waits, lower ones do not take.

A wait longer than a second is announced once; a wait that would pass the request's total deadline is not
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
from relaycli.core.bridge import pause
from relaycli.datatypes import ChatRequest, Notes, Result
from relaycli.errors import CircuitOpen, EndpointError, NetworkError, RateLimited, RelayError, RelayTimeout
from relaycli.limits.breaker import Circuit, Kind
from relaycli.limits.headers import read_limits
from relaycli.limits.learned import learn
from relaycli.limits.notices import Wait, open_error, past_deadline, waiting_note
from relaycli.limits.state import dump_bucket, load_bucket, profile_bucket, read_pause
from relaycli.limits.store import LimitsDamaged, LimitStore, LimitsUnavailable, Tx, pid_alive
from relaycli.pipeline.seams import Priority

__all__ = ["RANK", "Permit", "SharedGuard", "estimate_tokens"]

RANK: dict[str, int] = {"low": 0, "normal": 1, "high": 2}
POLL_S = 0.05  # how often a request waiting for a free slot or for a higher-priority one looks again
ANNOUNCE_AFTER_S = 1.0
LONGEST_SLEEP_S = 1.0  # a long wait looks again this often, so a reset (``relay ping --reset``) is seen soon
RESERVE_S = 0.1  # a request bucket keeps this long's refill in hand (the time a request takes to arrive)
LEASE_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Permit:
    """What the guard let one attempt have, to settle when it ends."""

    profile: Profile
    ticket: str
    leased: bool = False  # holds an in-flight slot
    probe: bool = False  # the half-open circuit's one probe
    estimate: float = 0.0  # tokens taken from the tpm bucket
    quiet: bool = False  # the circuit was closed and clean: a success needs no write


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
        sleep: Callable[[float], None] = pause,
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
        self._reopened = False
        self._lock = threading.Lock()

    # -- the seam --------------------------------------------------------------------------------
    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> Permit | None:
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
                    raise past_deadline(profile, outcome, waited=now - start)
                if not announced and now - start + outcome.seconds > ANNOUNCE_AFTER_S:
                    announced = True
                    notes.note(waiting_note(profile, outcome))
                self._sleep(_nap(outcome))
        except LimitsUnavailable as exc:
            self._trouble(exc)
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
            self._trouble(exc)

    def observe(self, profile: Profile, status: int, headers: Mapping[str, str]) -> None:
        now = self._clock()
        said = read_limits(status, headers, now)
        limits = profile.limits
        pause = said.pause_s if status < 500 else None
        tighten_rpm = limits.rpm is not None and said.requests_remaining is not None
        learnable = limits.rpm is None and said.requests_limit is not None and said.requests_remaining is not None
        tighten_tpm = limits.tpm is not None and said.tokens_remaining is not None
        asked = status >= 500 and said.retry_after_s is not None and profile.breaker.enabled
        if pause is None and not (tighten_rpm or learnable or tighten_tpm or asked):
            return
        store = self._open()
        if store is None:
            return
        try:
            with store.transaction() as tx:
                if pause is not None:
                    old = read_pause(tx.get(profile.name, "pause"))
                    until = max(old[0] if old else 0.0, now + pause)
                    why = "the pause a 429 asked for" if status == 429 else "the server's rate limit to reset"
                    tx.put(profile.name, "pause", {"until": until, "why": why})
                if tighten_rpm:
                    assert said.requests_remaining is not None
                    bucket = profile_bucket(profile, "rpm", tx.get(profile.name, "rpm"), now)
                    assert bucket is not None
                    bucket.at_most(float(said.requests_remaining), now)
                    tx.put(profile.name, "rpm", dump_bucket(bucket))
                if learnable:
                    server = learn(load_bucket(tx.get(profile.name, "learned")), said, now)
                    if server is not None:
                        tx.put(profile.name, "learned", dump_bucket(server))
                if tighten_tpm:
                    assert said.tokens_remaining is not None
                    bucket = profile_bucket(profile, "tpm", tx.get(profile.name, "tpm"), now)
                    assert bucket is not None
                    bucket.at_most(float(said.tokens_remaining), now)
                    tx.put(profile.name, "tpm", dump_bucket(bucket))
                if asked:
                    assert said.retry_after_s is not None
                    circuit = Circuit.from_dict(tx.get(profile.name, "breaker"))
                    circuit.server_asked(now + said.retry_after_s)
                    tx.put(profile.name, "breaker", circuit.to_dict())
        except LimitsUnavailable as exc:
            self._trouble(exc)

    def retry_wait(self, profile: Profile, seconds: float, notes: Notes | None = None) -> None:
        """The client's wait before it sends a request again (``seconds``: the server's retry-after or the
        backoff), then the shared pause and request bucket, which other processes may have run down
        meanwhile: a retry is a request like any other. Gives up waiting at the profile's total deadline
        (the client's own deadline then decides)."""
        if seconds > 0:
            self._sleep(seconds)
        store = self._open()
        if store is None:
            return
        start = self._clock()
        announced = False
        try:
            while True:
                now = self._clock()
                wait = self._again(store, profile, now)
                if wait is None or now + wait.seconds > start + profile.timeout.total:
                    return
                if notes is not None and not announced and now - start + wait.seconds > ANNOUNCE_AFTER_S:
                    announced = True
                    notes.note(waiting_note(profile, wait))
                self._sleep(_nap(wait))
        except LimitsUnavailable as exc:
            self._trouble(exc)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- one look at the shared state ------------------------------------------------------------
    def _try(
        self, store: LimitStore, profile: Profile, ticket: str, rank: int, estimate: float, now: float
    ) -> Permit | Wait:
        limits, settings = profile.limits, profile.breaker
        if not limits.any:
            quiet = self._quick(store, profile, now)
            if quiet is not None:
                return Permit(profile=profile, ticket=ticket, quiet=quiet)
        with store.transaction() as tx:
            state = tx.all(profile.name)
            circuit = Circuit.from_dict(state.get("breaker")) if settings.enabled else None
            if circuit is not None and _refused(circuit, now):
                raise open_error(profile, circuit, now)
            waits: list[Wait] = []
            pause = read_pause(state.get("pause"))
            if pause is not None and pause[0] > now:
                waits.append(Wait(pause[0] - now, pause[1], poll=False))
            rpm = profile_bucket(profile, "rpm", state.get("rpm"), now)
            if rpm is not None and (wait := rpm.wait_s(1.0, now, reserve=rpm.rate * RESERVE_S)) > 0:
                waits.append(Wait(wait, f"the rpm limit ({limits.rpm:g}/min)", poll=False))
            server = load_bucket(state.get("learned")) if rpm is None else None
            if server is not None and (wait := server.wait_s(1.0, now, reserve=server.rate * RESERVE_S)) > 0:
                waits.append(Wait(wait, "the request limit the server reported", poll=False))
            tpm = profile_bucket(profile, "tpm", state.get("tpm"), now)
            if tpm is not None and (wait := tpm.wait_s(estimate, now)) > 0:
                waits.append(Wait(wait, f"the tpm limit ({limits.tpm:g}/min)", poll=False))
            if limits.max_in_flight is not None and tx.in_flight(profile.name, now) >= limits.max_in_flight:
                waits.append(Wait(POLL_S, f"a free slot (max_in_flight = {limits.max_in_flight})", poll=True))
            contended = limits.any or server is not None or pause is not None
            if contended and tx.waiting_before(profile.name, rank, ticket, now):
                waits.append(Wait(POLL_S, "requests of higher priority", poll=True))
            if waits:
                longest = max(waits, key=lambda w: (not w.poll, w.seconds))
                tx.wait(ticket, profile.name, self._pid, rank, now + longest.seconds + LEASE_GRACE_S)
                return longest
            probe = circuit is not None and circuit.admit(now, probe_s=profile.timeout.total + LEASE_GRACE_S) == "probe"
            if probe and circuit is not None:
                tx.put(profile.name, "breaker", circuit.to_dict())
            for name, bucket, cost in (("rpm", rpm, 1.0), ("learned", server, 1.0), ("tpm", tpm, estimate)):
                if bucket is not None:
                    bucket.take(cost, now)
                    tx.put(profile.name, name, dump_bucket(bucket))
            leased = limits.max_in_flight is not None
            if leased:
                tx.lease(ticket, profile.name, self._pid, now + profile.timeout.total + LEASE_GRACE_S)
            tx.done_waiting(ticket)
            quiet = circuit is None or (circuit.state == "closed" and circuit.consecutive == 0)
            return Permit(
                profile=profile,
                ticket=ticket,
                leased=leased,
                probe=probe,
                estimate=float(tpm is not None) * estimate,
                quiet=quiet and settings.ratio is None,
            )

    def _quick(self, store: LimitStore, profile: Profile, now: float) -> bool | None:
        """Without limits of its own, a profile with a closed circuit, no pause and no learned bucket needs
        no write: True/False (the circuit clean or not) when the request may go at once, None when the full
        check must decide."""
        state = store.read(profile.name)
        pause = read_pause(state.get("pause"))
        if (pause is not None and pause[0] > now) or load_bucket(state.get("learned")) is not None:
            return None
        if not profile.breaker.enabled:
            return True
        circuit = Circuit.from_dict(state.get("breaker"))
        if circuit.state != "closed":
            return None
        return circuit.consecutive == 0 and profile.breaker.ratio is None

    def _again(self, store: LimitStore, profile: Profile, now: float) -> Wait | None:
        """Before a retry: the pause and the request bucket (configured or learned); None once it may go
        (its request taken from the bucket)."""
        with store.transaction() as tx:
            state = tx.all(profile.name)
            waits: list[Wait] = []
            pause = read_pause(state.get("pause"))
            if pause is not None and pause[0] > now:
                waits.append(Wait(pause[0] - now, pause[1], poll=False))
            name = "rpm" if profile.limits.rpm is not None else "learned"
            bucket = (
                profile_bucket(profile, "rpm", state.get("rpm"), now) if name == "rpm" else load_bucket(state.get(name))
            )
            if bucket is not None and (wait := bucket.wait_s(1.0, now, reserve=bucket.rate * RESERVE_S)) > 0:
                why = f"the rpm limit ({profile.limits.rpm:g}/min)" if name == "rpm" else "the server's request limit"
                waits.append(Wait(wait, why, poll=False))
            if waits:
                return max(waits, key=lambda w: w.seconds)
            if bucket is not None:
                bucket.take(1.0, now)
                tx.put(profile.name, name, dump_bucket(bucket))
            return None

    def _settle_tokens(self, tx: Tx, profile: Profile, estimate: float, result: Result | None, now: float) -> None:
        bucket = profile_bucket(profile, "tpm", tx.get(profile.name, "tpm"), now)
        if bucket is None:
            return
        usage = result.usage if result is not None else None
        if usage is not None and usage.known:
            bucket.give_back(estimate - float((usage.prompt_tokens or 0) + (usage.completion_tokens or 0)))
            tx.put(profile.name, "tpm", dump_bucket(bucket))

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
        store = self._store
        if store is not None:  # open already: no lock for the common case (many threads in relay batch)
            return store
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

    def _trouble(self, exc: LimitsUnavailable) -> None:
        """A store found damaged while in use is started afresh once; anything else turns the guard off."""
        if isinstance(exc, LimitsDamaged):
            with self._lock:
                store, first = self._store, not self._reopened
                self._reopened = True
            if store is not None and first:
                try:
                    self._warn(store.reopen())
                    return
                except LimitsUnavailable as again:
                    exc = again
        self._give_up(exc)

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


def _nap(wait: Wait) -> float:
    if wait.poll:
        return min(wait.seconds, POLL_S)
    return min(max(wait.seconds, 0.001), LONGEST_SLEEP_S)


def _refused(circuit: Circuit, now: float) -> bool:
    if circuit.state == "open":
        return circuit.until is not None and now < circuit.until
    if circuit.state == "half_open":
        return circuit.probe_until is not None and now < circuit.probe_until
    return False


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
