"""One request end to end, the same for ``relay stream``, ``chat``, ``batch`` and ``serve``.

::

    ask -> route (the profile, then its fallbacks) -> cache lookup -> budget -> guard (limits, breaker)
        -> attempt through the client core (retries) -> deltas to the caller's sink -> ledger row
        -> cache store

Each stage is a small object given to ``Pipeline`` when the context builds it; the cache and the guard
default to doing nothing (``seams.py``); a cache hit is replayed by ``replay.py``. Every attempt on a
profile gets exactly one ledger row, whatever ends it: success, an error, truncation, Ctrl-C or a closed
stdout. A failure moves on to the next profile only while nothing was shown to the caller.

Several threads may call ``run`` at once: nothing in the pipeline is per-request state, and the ledger is
written under a lock (``Recorder``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.core.bridge import pause
from relaycli.datatypes import Delta, Notes, Result
from relaycli.errors import ConfigError, OutputClosed, RelayError, TruncatedResponse, UsageError
from relaycli.pipeline.recording import Recorder
from relaycli.pipeline.replay import Recording, cache_miss, replay
from relaycli.pipeline.request import Answer, Ask, CacheUse, attach_partial
from relaycli.pipeline.route import Router, worth_falling_back
from relaycli.pipeline.seams import AttemptGuard, BudgetCheck, NoCache, NoGuard, Priority, ResponseCache

if TYPE_CHECKING:
    from relaycli.core.client import RelayClient
    from relaycli.ledger import LedgerRow

__all__ = ["ClientFactory", "DeltaSink", "EndSink", "EventSink", "Pipeline"]

DeltaSink = Callable[[Delta], None]
EventSink = Callable[[str, str], None]  # (protocol, the data of one wire event)
EndSink = Callable[[Result, Profile], None]  # a live answer that ended well, before its bookkeeping
# (profile, its key, where retry notices go) -> a client for one request (a context manager)
ClientFactory = Callable[[Profile, ResolvedKey, Notes], "RelayClient"]


class Pipeline:
    def __init__(
        self,
        *,
        router: Router,
        keys: Callable[[Profile], ResolvedKey],
        clients: ClientFactory,
        recorder: Recorder,
        notes: Notes,
        env: Mapping[str, str] | None = None,
        cache: ResponseCache | None = None,
        guard: AttemptGuard | None = None,
        team_budget: BudgetCheck | None = None,
        now: Callable[[], datetime] | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        sleep: Callable[[float], None] = pause,
    ) -> None:
        self.router = router
        self.keys = keys
        self.clients = clients
        self.recorder = recorder
        self.notes = notes
        self.env = env
        self.cache: ResponseCache = cache or NoCache()
        self.guard: AttemptGuard = guard or NoGuard()
        self.team_budget = team_budget  # [team] budgets: checked like a profile's budget
        self.now = now or _utcnow
        self.clock = clock  # nanoseconds, for the timing of stored and replayed answers
        self.sleep = sleep  # paced replays wait with it

    def run(
        self,
        ask: Ask,
        sink: DeltaSink,
        *,
        profile: Profile,
        command: str,
        tag: str | None = None,
        notes: Notes | None = None,
        shown: Callable[[], bool] | None = None,
        cache: CacheUse | None = None,
        priority: Priority = "normal",
        events: EventSink | None = None,
        cancelled: Callable[[], bool] | None = None,
        ended: EndSink | None = None,
    ) -> Answer:
        """Stream ``ask`` from ``profile`` (then its fallbacks) into ``sink``; one ledger row per attempt.

        ``cache`` says whether a stored answer may be replayed and a new one stored (default: neither); a
        replayed hit is a ledger row too (cost 0, the saving recorded). ``priority`` says who goes first
        when a shared rate limit is short.

        ``notes`` overrides where this request's notes and warnings go (chat prints them above the answer).
        ``shown`` says whether the caller has shown anything of the answer yet (default: whether any delta
        reached ``sink``); while it is False a failure may still go to the next profile. A failure carries
        what arrived before it as ``partial_answer(exc)``.

        ``events`` (``relay serve``) is given ``(protocol, data)`` for every event of a live answer's wire
        stream, the key removed, before its deltas reach ``sink``; a replayed hit has none. ``cancelled``
        says whether the caller gave up on the request (its client left, the server is stopping): an
        attempt that then fails is recorded as interrupted. ``ended`` is given a live answer's result and
        profile the moment it ended well, before its ledger row and cache entry are written (``relay serve``
        ends the client's response there, so its client may see the end a moment before the row is queued);
        what it raises is raised once they are written, carrying the answer. Profiles the ask cannot be sent
        to (``Ask.by_protocol``) are left out of the route.
        """
        say = notes or self.notes
        candidates = [c for c in self.router.candidates(profile) if ask.speaks(c)]
        if not candidates:
            raise UsageError(
                f"this request cannot be sent to profile {profile.name!r} ({profile.protocol}) or its fallbacks",
                hint="it uses features that exist only in the other protocol",
            )
        first_wire = ask.wire_model(profile)
        failure: RelayError | None = None  # the last real failure, reported if every fallback is skipped
        for index, candidate in enumerate(candidates):
            forward = _Forward(sink)
            seen = shown or forward.shown
            try:
                if index:
                    self._usable_fallback(candidate)
                return self._one(
                    candidate,
                    ask,
                    forward,
                    command=command,
                    tag=tag,
                    notes=say,
                    wire=first_wire if index else None,
                    shown=seen,
                    cache=cache or _NO_CACHE,
                    priority=priority,
                    events=events,
                    cancelled=cancelled,
                    ended=ended,
                )
            except _Skipped as skipped:
                say.note(f"fallback profile {candidate.name!r} skipped: {skipped.reason.message}")
                if index == len(candidates) - 1:
                    assert failure is not None
                    raise failure from None
                continue
            except RelayError as exc:
                if seen() or index == len(candidates) - 1 or not worth_falling_back(exc):
                    raise
                failure = exc
                say.note(
                    f"profile {candidate.name!r} failed ({exc.message}); falling back to {candidates[index + 1].name!r}"
                )
        raise AssertionError("unreachable")

    def _usable_fallback(self, profile: Profile) -> None:
        """A fallback whose own key or budget stops it is skipped, so the first profile's failure is what the
        user hears about."""
        try:
            self.keys(profile)
            if profile.budget is not None:
                self._check_budget(profile, Notes.silent())
        except ConfigError as exc:
            raise _Skipped(exc) from None

    # -- one profile -----------------------------------------------------------------------------
    def _one(
        self,
        profile: Profile,
        ask: Ask,
        sink: DeltaSink,
        *,
        command: str,
        tag: str | None,
        notes: Notes,
        wire: str | None,
        shown: Callable[[], bool],
        cache: CacheUse,
        priority: Priority,
        events: EventSink | None = None,
        cancelled: Callable[[], bool] | None = None,
        ended: EndSink | None = None,
    ) -> Answer:
        request = ask.for_profile(profile, wire)
        model_asked = ask.model_for(profile)
        use = cache if profile.cache else _NO_CACHE
        if use.read:
            hit = self.cache.lookup(profile, request)
            if hit is not None:
                return replay(
                    hit,
                    profile,
                    model_asked,
                    sink,
                    command=command,
                    tag=tag,
                    notes=notes,
                    paced=use.paced,
                    recorder=self.recorder,
                    cache=self.cache,
                    clock=self.clock,
                    sleep=self.sleep,
                    now=self.now(),
                )
        if cache.only:
            raise cache_miss(profile, model_asked)
        key = self.keys(profile)
        self._check_budget(profile, notes)
        # The client is made before the guard lets the request go, so a request that waits for its turn is
        # ready to send when it gets it (making the first one loads the HTTP library).
        connection = self.clients(profile, key, notes)
        asked = self.clock()
        try:
            permit = self.guard.enter(profile, request, priority=priority, notes=notes)
        except BaseException as exc:
            connection.__exit__(None, None, None)
            if not isinstance(exc, RelayError | KeyboardInterrupt | OutputClosed):
                raise
            # refused (an open circuit, a wait past the deadline), or Ctrl-C (a server stopping) while waiting:
            # nothing was sent
            self.recorder.record(
                command=command,
                profile=profile,
                model_requested=model_asked,
                result=None,
                outcome="error" if isinstance(exc, RelayError) else "interrupted",
                error=exc if isinstance(exc, RelayError) else None,
                tag=tag,
                warn=notes.warn,
            )
            raise
        recording = Recording(self.clock) if use.write else None
        result: Result | None = None
        row: LedgerRow | None = None
        error: BaseException | None = None
        failure: BaseException | None = None
        late: BaseException | None = None  # raised by ``ended``: told to the caller once the bookkeeping is done
        outcome = "ok"
        try:
            with connection as client:
                waited = max(self.clock() - asked, 0) / 1e9  # for a shared limit: part of the total deadline
                on_event = None
                if events is not None:
                    protocol = profile.protocol

                    def on_event(data: str) -> None:
                        events(protocol, data)

                # retried while nothing was shown
                stream = client.stream(request, shown=shown, spent_s=waited, events=on_event)
                try:
                    for delta in stream:
                        if recording is not None:
                            recording.add(delta)
                        sink(delta)
                except TruncatedResponse as exc:
                    outcome, error = ("interrupted", None) if cancelled and cancelled() else ("truncated", exc)
                    raise
                except RelayError as exc:
                    outcome, error = ("interrupted", None) if cancelled and cancelled() else ("error", exc)
                    raise
                except (KeyboardInterrupt, OutputClosed):
                    outcome = "interrupted"
                    raise
                except BaseException as exc:  # a bug or the system (a full disk, an encoding): still an error
                    outcome, error = "error", exc
                    raise
                finally:
                    stream.close()
                    result = stream.result()
                    if ended is not None and outcome == "ok":
                        try:
                            ended(result, profile)
                        except BaseException as exc:  # noqa: BLE001 - the answer is whole: its row, its cache
                            late = exc  # entry and the breaker's success are still written; then the caller hears
                    row, written = self.recorder.record(
                        command=command,
                        profile=profile,
                        model_requested=model_asked,
                        result=result,
                        outcome=outcome,
                        error=error,
                        tag=tag,
                        warn=notes.warn,
                    )
                    if written and profile.budget is not None:
                        self._announce_budget(profile, row, notes)
                    if written and self.team_budget is not None:
                        self.team_budget.check_after(self.recorder.ledger, row, warn=notes.warn, now=self.now())
        except BaseException as exc:
            failure = exc
            if result is not None:
                cost = (row.cost_usd, row.cost_billed) if row is not None else (None, None)
                attach_partial(
                    exc,
                    Answer(result=result, profile=profile, model_asked=model_asked, cost_usd=cost[0], billed=cost[1]),
                )
            raise
        finally:
            self.guard.exit(permit, result, failure)
        assert result is not None
        cost = (row.cost_usd, row.cost_billed) if row is not None else (None, None)
        if recording is not None:
            self.cache.store(
                profile, request, result, recording.deltas, cost_usd=cost[0], cost_billed=cost[1], counted=use.read
            )
        answer = Answer(result=result, profile=profile, model_asked=model_asked, cost_usd=cost[0], billed=cost[1])
        if late is not None:
            attach_partial(late, answer)
            raise late
        return answer

    def _check_budget(self, profile: Profile, notes: Notes) -> None:
        if self.team_budget is not None:
            self.team_budget.check_before(self.recorder.ledger, warn=notes.warn, now=self.now())
        if profile.budget is None:
            return
        from relaycli.usage.budget import check_before

        check_before(self.recorder.ledger, profile, warn=notes.warn, now=self.now(), env=self.env)

    def _announce_budget(self, profile: Profile, row: LedgerRow, notes: Notes) -> None:
        from relaycli.usage.budget import check_after

        check_after(self.recorder.ledger, profile, row, warn=notes.warn, env=self.env)


_NO_CACHE = CacheUse()


class _Forward:
    """Passes deltas on to the caller's sink and remembers whether any went through (a ``restart``, which
    voids the deltas before it, is passed on too but is no content)."""

    def __init__(self, sink: DeltaSink) -> None:
        self.sink = sink
        self.forwarded = False

    def __call__(self, delta: Delta) -> None:
        if delta.kind != "restart":
            self.forwarded = True
        self.sink(delta)

    def shown(self) -> bool:
        return self.forwarded


class _Skipped(Exception):
    def __init__(self, reason: ConfigError) -> None:
        self.reason = reason


def _utcnow() -> datetime:
    return datetime.now(UTC)
