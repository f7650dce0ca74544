"""Scheduling a benchmark: warm-up, closed loop (``-c N`` in flight) or open loop (``--rate R``, Poisson
arrivals from a seed, scheduled ahead so a slow server cannot slow the schedule), interleaved targets,
``-n`` and ``--duration`` limits, and the client's checks on itself.

No I/O of its own: it drives an engine (``core.engine.Engine`` or a fake) through ``submit`` and
``poll``, and reads time from an injected ``clock`` (ns) and ``cpu`` (s), so tests run on a fake clock.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from relaycli.bench.schedule import Job, Load, arrivals, measured_jobs
from relaycli.bench.stats import percentile
from relaycli.errors import interrupt_exit_code
from relaycli.measure.engine import TimedRequest
from relaycli.measure.interrupts import Deferred, describe

POLL_MAX_S = 0.05
CPU_WARN = 0.85
BLIND_WARN_MS = 1.0
RATE_WARN = 0.95


class EngineLike(Protocol):
    in_flight: int
    last_events: int
    blind_ns: Any
    late_ns: Any

    def submit(self, ex: TimedRequest) -> None: ...
    def poll(self, timeout_s: float | None) -> list[TimedRequest]: ...
    def abandon(self, reason: str = ...) -> list[TimedRequest]: ...
    def connect(self, wire_index: int, count: int) -> None: ...
    @property
    def connecting(self) -> int: ...


class Backlog(Protocol):
    """Work to do while the loop has nothing ready (parsing finished responses)."""

    @property
    def wanted(self) -> bool: ...
    def step(self) -> None: ...


@dataclass(slots=True)
class Progress:
    labels: list[str]
    done: list[int]
    errors: list[int]
    planned: int | None  # per target
    elapsed_s: float
    in_flight: int
    latencies_ms: list[float]
    warmup: bool = False


@dataclass(slots=True)
class SelfCheck:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    blind_ms: dict[str, float] = field(default_factory=dict)  # p50, p99, max busy stretch of the loop
    late_ms: dict[str, float] = field(default_factory=dict)  # how late timed waits woke
    offered_rps: float | None = None  # --rate, and the rate the seeded schedule actually realised
    realised_rps: float | None = None
    achieved_rps: float = 0.0
    queued: int = 0  # open loop: requests that waited for a free slot (the -c cap)
    schedule_lag_ms: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    interrupt_code: int | None = None  # 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP
    interrupted_by: str | None = None  # "Ctrl-C", "SIGTERM", "SIGHUP"
    analysis_s: float = 0.0  # parsing responses after the run (the loop defers it; see core.engine)
    warnings: list[str] = field(default_factory=list)

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "cpu_share": self.cpu_share,
            "loop_busy_ms": self.blind_ms,
            "timer_late_ms": self.late_ms,
            "offered_rps": self.offered_rps,
            "realised_rps": self.realised_rps,
            "achieved_rps": self.achieved_rps,
            "queued": self.queued,
            "schedule_lag_ms": self.schedule_lag_ms,
            "interrupted": self.interrupted,
            "interrupted_by": self.interrupted_by,
            "analysis_s": self.analysis_s,
            "warnings": self.warnings,
        }


class Runner:
    def __init__(
        self,
        engine: EngineLike,
        make: Callable[[Job], TimedRequest],
        load: Load,
        *,
        labels: list[str],
        on_done: Callable[[Job, TimedRequest], None],
        clock: Callable[[], int] = time.perf_counter_ns,
        cpu: Callable[[], float] = time.process_time,
        progress: Callable[[Progress], None] | None = None,
        progress_every_s: float = 0.25,
        backlog: Backlog | None = None,
        after_warmup: Callable[[], None] | None = None,
        held: Deferred | None = None,
    ) -> None:
        """``held``: entered when the load ends (done, or cut short by a signal), so that a signal after that
        is noted, not raised, until the caller has recorded the results and leaves it."""
        self.engine, self.make, self.load = engine, make, load
        self.labels = labels
        self.n_targets = n_targets = len(labels)
        self.on_done, self.clock, self.cpu = on_done, clock, cpu
        self.progress, self.progress_every_ns = progress, int(progress_every_s * 1e9)
        self.backlog = backlog
        self.after_warmup = after_warmup
        self.held = held
        self.check = SelfCheck()
        self._done = [0] * n_targets
        self._errors = [0] * n_targets
        self._latencies: list[float] = []
        self._next_progress = 0
        self._t0 = 0
        self._warm = False
        self._sends: list[int] = []
        self._lags: list[int] = []

    # -- the phases -------------------------------------------------------------------------------

    def run(self) -> SelfCheck:
        load = self.load
        start_cpu = 0.0
        try:
            if load.preconnect and load.rate is None:
                self._preconnect(load.concurrency)
            warm = [Job(t, -1 - i, True) for i in range(load.warmup) for t in range(self.n_targets)]
            warm_latency = self._closed(iter(warm), min(load.concurrency, max(len(warm), 1)), None, warm=True)
            if self.after_warmup is not None:
                self.after_warmup()
            if load.preconnect and load.rate is not None:
                expected = load.rate * max(warm_latency, 0.001) * 1.5 / self.n_targets
                self._preconnect(min(load.concurrency, max(1, math.ceil(expected))))
            self._reset_self_check()
            start_cpu = self.cpu()
            self._t0 = self.clock()
            jobs = measured_jobs(self.n_targets, load.n, load.seed)
            deadline = self._t0 + int(load.duration_s * 1e9) if load.duration_s else None
            if load.rate is None:
                self._closed(jobs, load.concurrency, deadline, warm=False)
            else:
                self._open(jobs, load.rate, load.concurrency, deadline)
            if self.held is not None:
                self.held.__enter__()
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP as errors.Terminated
            held = self.held or Deferred()  # a second signal does not cost the requests cut short their records
            held.__enter__()
            try:
                check = self.check
                check.interrupted, check.interrupt_code, check.interrupted_by = (
                    True,
                    interrupt_exit_code(exc),
                    describe(exc),
                )
                self._collect(self.engine.abandon(f"interrupted by {check.interrupted_by}"))
            finally:
                if self.held is None:
                    held.__exit__(None, None, None)
        end = self.clock()
        self.check.wall_s = (end - self._t0) / 1e9 if self._t0 else 0.0
        self.check.cpu_s = self.cpu() - start_cpu if self._t0 else 0.0
        self._finish_self_check()
        return self.check

    def _preconnect(self, per_target: int) -> None:
        for target in range(self.n_targets):
            self.engine.connect(target, per_target)
        limit = self.clock() + 30 * 10**9
        while self.engine.connecting and self.clock() < limit:
            self.engine.poll(POLL_MAX_S)

    def _reset_self_check(self) -> None:
        del self.engine.blind_ns[:]
        del self.engine.late_ns[:]

    def _closed(self, jobs: Iterator[Job], concurrency: int, deadline: int | None, *, warm: bool) -> float:
        """Keep ``concurrency`` requests in flight until ``jobs`` or the deadline run out; the mean latency
        in seconds (for sizing the open loop's connection pool)."""
        self._warm = warm
        engine, clock = self.engine, self.clock
        total, count = 0, 0
        exhausted = False
        while True:
            while not exhausted and engine.in_flight < concurrency:
                if deadline is not None and clock() >= deadline:
                    exhausted = True
                    break
                job = next(jobs, None)
                if job is None:
                    exhausted = True
                    break
                self._submit(job, None)
            if engine.in_flight == 0:
                return total / count / 1e9 if count else 0.0
            for ex in self._poll(None if exhausted else deadline):  # draining: no deadline to wake for
                total += ex.t_end - ex.t_send
                count += 1

    def _open(self, jobs: Iterator[Job], rate: float, cap: int, deadline: int | None) -> None:
        engine, clock = self.engine, self.clock
        schedule = arrivals(rate, self.load.seed)
        queue: deque[tuple[Job, int]] = deque()
        t0 = self._t0
        next_job = next(jobs, None)
        next_at = t0 + int(next(schedule) * 1e9)
        first_sched = last_sched = None
        scheduled = 0
        while True:
            now = clock()
            while next_job is not None and next_at <= now:
                if deadline is not None and next_at >= deadline:
                    next_job = None
                    break
                if engine.in_flight + len(queue) >= cap:
                    self.check.queued += 1  # it cannot go at its time: the client queue holds it
                queue.append((next_job, next_at))
                first_sched = first_sched if first_sched is not None else next_at
                last_sched = next_at
                scheduled += 1
                next_job = next(jobs, None)
                next_at = t0 + int(next(schedule) * 1e9)
            while queue and engine.in_flight < cap:
                job, t_sched = queue.popleft()
                self._submit(job, t_sched)
            if next_job is None and not queue and engine.in_flight == 0:
                break
            wait = POLL_MAX_S
            if next_job is not None:
                wait = min(wait, max(0.0, (next_at - clock()) / 1e9))
            self._poll(None, wait)
        self.check.offered_rps = rate
        if scheduled > 1 and first_sched is not None and last_sched is not None and last_sched > first_sched:
            self.check.realised_rps = (scheduled - 1) / ((last_sched - first_sched) / 1e9)

    # -- one step ---------------------------------------------------------------------------------

    def _submit(self, job: Job, t_sched: int | None) -> None:
        ex = self.make(job)
        ex.t_sched = t_sched
        ex.tag = job
        self.engine.submit(ex)
        if not job.warmup:
            self._sends.append(ex.t_send)
            if t_sched is not None:
                self._lags.append(ex.t_send - t_sched)

    def _poll(self, deadline: int | None, wait: float | None = None) -> list[TimedRequest]:
        engine, clock = self.engine, self.clock
        timeout = POLL_MAX_S if wait is None else wait
        if deadline is not None:
            timeout = min(timeout, max(0.0, (deadline - clock()) / 1e9))
        backlog = self.backlog
        if backlog is not None and backlog.wanted:
            done = engine.poll(0)
            if done or engine.last_events:
                self._collect(done)
                return done
            backlog.step()  # nothing was ready: parse one finished response meanwhile
            return []
        done = engine.poll(timeout)
        self._collect(done)
        return done

    def _collect(self, done: list[TimedRequest]) -> None:
        for ex in done:
            job: Job = ex.tag
            if not job.warmup:
                self._done[job.target] += 1
                if ex.error is not None or not 200 <= ex.status <= 299:
                    self._errors[job.target] += 1
                else:
                    self._latencies.append((ex.t_end - ex.t_send) / 1e6)
            self.on_done(job, ex)
        if self.progress is not None:
            now = self.clock()
            if now >= self._next_progress:
                self._next_progress = now + self.progress_every_ns
                self.progress(
                    Progress(
                        self.labels,
                        list(self._done),
                        list(self._errors),
                        self.load.n,
                        (now - self._t0) / 1e9 if self._t0 else 0.0,
                        self.engine.in_flight,
                        self._latencies,
                        self._warm,
                    )
                )

    # -- self-check -------------------------------------------------------------------------------

    def _finish_self_check(self) -> None:
        check = self.check
        check.blind_ms = _dist_ms(self.engine.blind_ns)
        check.late_ms = _dist_ms(self.engine.late_ns)
        check.schedule_lag_ms = _dist_ms(self._lags)
        sends = self._sends
        if len(sends) > 1 and sends[-1] > sends[0]:
            check.achieved_rps = (len(sends) - 1) / ((sends[-1] - sends[0]) / 1e9)
        if check.cpu_share >= CPU_WARN:
            check.warnings.append(
                f"the client used {check.cpu_share:.0%} of a CPU core: it, not the endpoint, may have limited "
                "the result (fewer targets or less concurrency per process, or a faster machine)"
            )
        p99 = check.blind_ms.get("p99", 0.0)
        if p99 > BLIND_WARN_MS:
            effect = (
                "requests may have been sent late (receive times come from the kernel)"
                if getattr(self.engine, "kernel_stamps", False)
                else "timestamps may be late by that much"
            )
            check.warnings.append(
                f"the client's event loop was busy for up to {p99:.1f} ms at a time (p99; max "
                f"{check.blind_ms.get('max', 0.0):.1f} ms): {effect}"
            )
        if self.load.rate is not None:
            offered = check.realised_rps or self.load.rate
            if check.achieved_rps < RATE_WARN * offered and len(sends) > 10:
                cause = (
                    f"{check.queued} requests waited for a free slot (-c {self.load.concurrency}); "
                    "their corrected latency counts that wait"
                    if check.queued
                    else "the client could not keep up with the schedule"
                )
                check.warnings.append(
                    f"achieved {check.achieved_rps:.1f} req/s of the {offered:.1f} req/s offered: {cause}"
                )
            elif check.queued:
                check.warnings.append(
                    f"{check.queued} requests waited for a free slot (-c {self.load.concurrency}); "
                    "their corrected latency counts that wait"
                )


def _dist_ms(values_ns: Any) -> dict[str, float]:
    if not len(values_ns):
        return {}
    ordered = sorted(values_ns)
    return {
        "p50": percentile(ordered, 0.5) / 1e6,
        "p99": percentile(ordered, 0.99) / 1e6,
        "max": ordered[-1] / 1e6,
        "n": float(len(ordered)),
    }
