"""The scheduler on a fake clock and a fake engine: closed and open loop, warm-up, interleaving, duration,
coordinated omission and the self-checks. Nothing sleeps."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import pytest

from relaycli.bench.runner import Progress, Runner
from relaycli.bench.schedule import Job, Load, arrivals, measured_jobs
from relaycli.measure.engine import TimedRequest

MS = 1_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000 * MS

    def __call__(self) -> int:
        return self.now


class FakeEngine:
    """Each exchange finishes ``latency(ex)`` ns after it is submitted."""

    def __init__(self, clock: FakeClock, latency: Callable[[TimedRequest], int]) -> None:
        self.clock, self.latency = clock, latency
        self.in_flight = self.last_events = self.max_in_flight = 0
        self.blind_ns: list[int] = []
        self.late_ns: list[int] = []
        self.connected: dict[int, int] = {}
        self.submitted: list[TimedRequest] = []
        self._heap: list[tuple[int, int, TimedRequest]] = []
        self._count = itertools.count()

    @property
    def connecting(self) -> int:
        return 0

    def connect(self, wire_index: int, count: int) -> None:
        self.connected[wire_index] = self.connected.get(wire_index, 0) + count

    def submit(self, ex: TimedRequest) -> None:
        ex.t_send = self.clock()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.submitted.append(ex)
        heapq.heappush(self._heap, (ex.t_send + self.latency(ex), next(self._count), ex))

    def poll(self, timeout_s: float | None) -> list[TimedRequest]:
        limit = self.clock.now + int((timeout_s if timeout_s is not None else 3600) * 1e9)
        if self._heap and self._heap[0][0] <= limit:
            self.clock.now = max(self.clock.now, self._heap[0][0])
        else:
            self.clock.now = limit
        done = []
        while self._heap and self._heap[0][0] <= self.clock.now:
            _, _, ex = heapq.heappop(self._heap)
            ex.t_end, ex.status = self.clock.now, 200
            self.in_flight -= 1
            done.append(ex)
        self.last_events = len(done)
        return done

    def abandon(self, reason: str = "interrupted by Ctrl-C") -> list[TimedRequest]:
        done = [ex for _, _, ex in self._heap]
        self._heap.clear()
        for ex in done:
            ex.t_end, ex.error, ex.detail = self.clock.now, "interrupted", reason
            self.in_flight -= 1
        return done


def run(
    load: Load,
    latency: Callable[[TimedRequest], int],
    *,
    targets: int = 1,
    cpu: list[float] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> tuple[FakeEngine, list[Job], Runner]:
    clock = FakeClock()
    engine = FakeEngine(clock, latency)
    finished: list[Job] = []
    cpu_values = iter(cpu or [0.0, 0.0])
    runner = Runner(
        engine,
        lambda job: TimedRequest(job.target, b""),
        load,
        labels=[f"t{i}" for i in range(targets)],
        on_done=lambda job, ex: finished.append(job),
        clock=clock,
        cpu=lambda: next(cpu_values),
        progress=progress,
    )
    runner.run()
    return engine, finished, runner


def test_closed_loop_warms_up_then_keeps_c_in_flight_interleaving_targets() -> None:
    engine, finished, runner = run(Load(concurrency=3, n=10, warmup=2, seed=4), lambda ex: 7 * MS, targets=2)
    jobs = [ex.tag for ex in engine.submitted]
    assert [j.warmup for j in jobs[:4]] == [True] * 4 and not any(j.warmup for j in jobs[4:])
    measured = jobs[4:]
    assert len(measured) == 20 and engine.max_in_flight == 3 and engine.connected == {0: 3, 1: 3}
    for seq in range(10):  # each round: one request per target, same seq (same prompt)
        assert sorted((j.target, j.seq) for j in measured[2 * seq : 2 * seq + 2]) == [(0, seq), (1, seq)]
    assert len(finished) == 24 and runner.check.wall_s > 0 and not runner.check.warnings


def test_interleaving_is_seeded() -> None:
    first = list(measured_jobs(3, 20, seed=1))
    assert first == list(measured_jobs(3, 20, seed=1))
    assert first != list(measured_jobs(3, 20, seed=2))
    assert all(sorted(j.target for j in first[i : i + 3]) == [0, 1, 2] for i in range(0, 60, 3))


def test_open_loop_sends_on_the_seeded_poisson_schedule() -> None:
    engine, _, runner = run(Load(rate=100.0, concurrency=256, n=200, warmup=1, seed=7), lambda ex: 3 * MS)
    measured = [ex for ex in engine.submitted if not ex.tag.warmup]
    t0 = runner._t0
    expected = [t0 + int(t * 1e9) for t in itertools.islice(arrivals(100.0, 7), 200)]
    assert [ex.t_sched for ex in measured] == expected
    assert all(ex.t_send == ex.t_sched for ex in measured)  # the fake clock wakes exactly on time
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(expected)]
    assert sum(gaps) / len(gaps) == pytest.approx(0.01, rel=0.2)
    assert runner.check.realised_rps == pytest.approx(100, rel=0.2) and runner.check.queued == 0
    assert runner.check.schedule_lag_ms["max"] == 0


def test_open_loop_queue_is_coordinated_omission_made_visible() -> None:
    stalled = {"done": False}

    def latency(ex: TimedRequest) -> int:
        if not ex.tag.warmup and ex.tag.seq == 10 and not stalled["done"]:
            stalled["done"] = True
            return 1000 * MS  # one request stalls for a second
        return 1 * MS

    engine, _, runner = run(Load(rate=50.0, concurrency=1, n=120, warmup=1, seed=3), latency)
    measured = [ex for ex in engine.submitted if not ex.tag.warmup]
    stall = next(ex for ex in measured if ex.tag.seq == 10)
    during = [ex for ex in measured if stall.t_send < ex.t_sched < stall.t_end]
    assert len(during) > 20
    for ex in during:  # each waited in the client queue: sent late, its wait shows only when corrected
        assert ex.t_send >= stall.t_end
        assert ex.t_end - ex.t_sched >= stall.t_end - ex.t_sched
        assert ex.t_end - ex.t_send < 100 * MS
    assert runner.check.queued >= len(during)
    assert any("waited for a free slot (-c 1)" in w for w in runner.check.warnings)


def test_duration_stops_sending() -> None:
    engine, _, runner = run(Load(concurrency=1, n=None, duration_s=0.1, warmup=1), lambda ex: 10 * MS)
    measured = [ex for ex in engine.submitted if not ex.tag.warmup]
    assert 9 <= len(measured) <= 11
    assert all(ex.t_send < runner._t0 + 100 * MS for ex in measured)


def test_busy_client_is_called_out() -> None:
    _, _, runner = run(Load(concurrency=1, n=5), lambda ex: 10 * MS, cpu=[0.0, 10.0])
    assert runner.check.cpu_share > 0.85
    assert any("CPU core" in w and "limited" in w for w in runner.check.warnings)


def test_progress_and_interruption() -> None:
    seen: list[Progress] = []
    engine, _, runner = run(Load(concurrency=2, n=30), lambda ex: 100 * MS, progress=seen.append)
    assert seen and seen[-1].labels == ["t0"] and seen[-1].planned == 30 and sum(seen[-1].done) <= 30
    clock = FakeClock()
    engine = FakeEngine(clock, lambda ex: MS)

    def boom(timeout: float | None) -> list[TimedRequest]:
        raise KeyboardInterrupt

    engine.poll = boom  # type: ignore[method-assign]
    runner = Runner(
        engine,
        lambda job: TimedRequest(0, b""),
        Load(n=3),
        labels=["t"],
        on_done=lambda j, e: None,
        clock=clock,
        cpu=lambda: 0.0,
    )
    assert runner.run().interrupted


def test_ctrl_c_records_the_requests_in_flight() -> None:
    clock = FakeClock()
    engine = FakeEngine(clock, lambda ex: 10**9)
    finished: list[tuple[Job, TimedRequest]] = []
    submitted = {"n": 0}
    real_submit = engine.submit

    def submit(ex: TimedRequest) -> None:
        real_submit(ex)
        submitted["n"] += 1
        if submitted["n"] == 6:  # Ctrl-C arrives while requests are in flight
            raise KeyboardInterrupt

    engine.submit = submit  # type: ignore[method-assign]
    runner = Runner(
        engine,
        lambda job: TimedRequest(job.target, b""),
        Load(concurrency=2, n=10, warmup=1),
        labels=["t0"],
        on_done=lambda job, ex: finished.append((job, ex)),
        clock=clock,
        cpu=lambda: 0.0,
    )
    check = runner.run()
    assert check.interrupted
    interrupted = [ex for _, ex in finished if ex.error == "interrupted"]
    assert interrupted and len(finished) == submitted["n"]  # every request sent has its record
