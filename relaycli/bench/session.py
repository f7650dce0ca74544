"""One ``relay bench`` run end to end: set up targets and wires, run the load, parse the responses, build
the document, write the ledger rows. No printing: progress goes to a callback, warnings into the result."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relaycli import __version__
from relaycli.bench.analyze import Record, analyze
from relaycli.bench.limits import concurrency_for
from relaycli.bench.results import (
    comparisons,
    config_block,
    empty_warnings,
    ledger_row,
    record_dict,
    samples,
    target_metrics,
    utc_now,
)
from relaycli.bench.runner import Progress, Runner, SelfCheck
from relaycli.bench.schedule import Job, Load
from relaycli.bench.setup import Prompt, Target, open_wires, read_prompts, request_bytes, resolve_targets
from relaycli.errors import ExitCode, RelayError
from relaycli.measure.engine import Engine, TimedRequest
from relaycli.measure.interrupts import Deferred

if TYPE_CHECKING:
    from relaycli.bench.services import Services

BACKLOG_BYTES = 64 * 1024 * 1024  # parse finished responses during the run only past this much


@dataclass(frozen=True, slots=True)
class BenchOptions:
    profiles: Sequence[str] = ()
    models: Sequence[str] = ()
    pairs: Sequence[str] = ()
    prompts: Sequence[str] = ()
    prompts_file: Path | None = None
    n: int | None = 50
    concurrency: int | None = None
    rate: float | None = None
    duration_s: float | None = None
    warmup: int = 1
    max_tokens: int | None = 64
    seed: int = 0
    baseline: str | None = None
    record_ledger: bool = True


@dataclass(slots=True)
class BenchRun:
    document: dict[str, Any]
    records: list[Record]
    targets: list[Target]
    exit_code: int = 0
    raw: list[dict[str, Any]] = field(default_factory=list)


class _Parsing:
    """Finished exchanges waiting to be parsed; parsed during the run only when they take much memory."""

    def __init__(self, targets: Sequence[Target]) -> None:
        self.formats = [t.fmt for t in targets]
        self.peers = [t.peer for t in targets]
        self.key_sources = [t.key.source for t in targets]
        self.pending: deque[tuple[Job, TimedRequest]] = deque()
        self.size = 0
        self.records: list[Record] = []

    def add(self, job: Job, ex: TimedRequest) -> None:
        self.pending.append((job, ex))
        self.size += sum(len(d) for _, d in ex.pieces)

    @property
    def wanted(self) -> bool:
        return self.size > BACKLOG_BYTES

    def step(self) -> None:
        job, ex = self.pending.popleft()
        self.size -= sum(len(d) for _, d in ex.pieces)
        i = job.target
        self.records.append(
            analyze(
                ex,
                fmt=self.formats[i],
                target=i,
                seq=job.seq,
                warmup=job.warmup,
                peer=self.peers[i],
                key_source=self.key_sources[i],
            )
        )

    def drain(self) -> list[Record]:
        while self.pending:
            self.step()
        return self.records


def run_bench(
    services: Services,
    opts: BenchOptions,
    *,
    progress: Callable[[Progress], None] | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> BenchRun:
    targets = resolve_targets(services, opts.profiles, opts.models, opts.pairs)
    concurrency = concurrency_for(opts.concurrency, rate=opts.rate, targets=len(targets))

    for profile in {t.profile.name: t.profile for t in targets}.values():
        services.check_budget(profile)  # a profile blocked on its budget sends nothing, benchmark or not
    baseline = _baseline(targets, opts.baseline)
    prompts = read_prompts(opts.prompts, opts.prompts_file)
    payloads = [[request_bytes(t, p, max_tokens=opts.max_tokens) for p in prompts] for t in targets]
    wires = open_wires(targets, services.env)
    load = Load(
        concurrency=concurrency,
        rate=opts.rate,
        n=opts.n,
        duration_s=opts.duration_s,
        warmup=opts.warmup,
        seed=opts.seed,
    )
    engine = Engine(wires, clock=clock)
    parsing = _Parsing(targets)

    def make(job: Job) -> TimedRequest:
        return TimedRequest(job.target, payloads[job.target][job.seq % len(prompts)])

    rejected: list[str] = []

    def after_warmup() -> None:
        """A server that refuses ``stream_options`` (400) gets requests without it, as ``relay stream`` does."""
        for rec in parsing.drain():
            label = targets[rec.target].label
            if rec.warmup and rec.status in (400, 422) and "stream_options" in rec.detail and label not in rejected:
                rejected.append(label)
                payloads[rec.target] = [
                    request_bytes(targets[rec.target], p, max_tokens=opts.max_tokens, include_usage=False)
                    for p in prompts
                ]

    from relaycli.measure.sockets import proxy_warning

    proxied = (proxy_warning(t.profile.name, t.profile.base_url, "relay bench") for t in targets)
    early = list(dict.fromkeys(w for w in proxied if w))
    wall_t0, t0 = utc_now(), clock()
    held = Deferred()  # entered by the runner when the load ends: a signal after that waits for the ledger
    runner = Runner(
        engine,
        make,
        load,
        labels=[t.label for t in targets],
        on_done=parsing.add,
        clock=clock,
        progress=progress,
        backlog=parsing,
        after_warmup=after_warmup,
        held=held,
    )
    try:
        try:
            check = runner.run()
        finally:
            engine.close()
        return _wrap_up(
            services,
            opts,
            targets,
            parsing,
            check,
            engine.kernel_stamps,
            prompts,
            rejected,
            concurrency,
            baseline,
            wall_t0,
            t0,
            early,
            clock,
            held,
        )
    finally:
        held.__exit__(None, None, None)


def _wrap_up(
    services: Services,
    opts: BenchOptions,
    targets: list[Target],
    parsing: _Parsing,
    check: SelfCheck,
    kernel_stamps: bool,
    prompts: Sequence[Prompt],
    rejected: list[str],
    concurrency: int,
    baseline: int,
    wall_t0: Any,
    t0: int,
    early: list[str],
    clock: Callable[[], int],
    held: Deferred,
) -> BenchRun:
    """The records parsed, the ledger rows written, the document built: after the load, or after Ctrl-C."""
    t_parse = clock()
    records = parsing.drain()
    check.analysis_s = (clock() - t_parse) / 1e9
    check.warnings[:0] = early
    records.sort(key=lambda r: r.t_send)
    check.warnings.extend(empty_warnings([t.label for t in targets], records))
    rows = _ledger(services, records, targets, wall_t0, t0, check.warnings, opts.record_ledger)
    per_target = [samples([r for r in records if r.target == i]) for i in range(len(targets))]
    labels = [t.label for t in targets]
    document = {
        "config": config_block(
            relay_version=__version__,
            started_at=wall_t0.isoformat(timespec="seconds"),
            targets=[
                {"label": t.label, "profile": t.profile.name, "model": t.model, "host": t.profile.host} for t in targets
            ],
            baseline=labels[baseline],
            mode="open" if opts.rate is not None else "closed",
            concurrency=concurrency,
            rate=opts.rate,
            n=opts.n,
            duration_s=opts.duration_s,
            warmup=opts.warmup,
            seed=opts.seed,
            max_tokens=opts.max_tokens,
            prompts=len(prompts),
            stream_options_refused=rejected,
            receive_times="kernel (SO_TIMESTAMPNS) for plain-TCP targets" if kernel_stamps else "event loop",
            prompt_source="--prompt" if opts.prompts else str(opts.prompts_file) if opts.prompts_file else "built-in",
        ),
        "targets": [
            target_metrics(
                t,
                [r for r in records if r.target == i],
                [(row, rec) for row, rec in rows if rec.target == i and not rec.warmup],
            )
            for i, t in enumerate(targets)
        ],
        "comparisons": comparisons(labels, per_target, baseline, seed=opts.seed),
        "self_check": check.as_dict(),
        "warnings": check.warnings,
    }
    run = BenchRun(document, records, targets)
    run.raw = [record_dict(r, labels[r.target], t0) for r in records]
    run.exit_code = held.code or _exit_code(records, len(targets), check.interrupt_code)
    return run


def _baseline(targets: Sequence[Target], name: str | None) -> int:
    if name is None:
        return 0
    for index, target in enumerate(targets):
        if name in (target.label, target.profile.name, target.model, f"{target.profile.name}:{target.model}"):
            return index
    from relaycli.errors import UsageError

    raise UsageError(f"--baseline {name!r} is not one of the targets: {', '.join(t.label for t in targets)}")


def _ledger(
    services: Services,
    records: Sequence[Record],
    targets: Sequence[Target],
    wall_t0: Any,
    t0: int,
    warnings: list[str],
    write: bool,
) -> list[tuple[Any, Record]]:
    """One row per request sent (warm-ups too), written in one transaction after the run."""
    prices = services.prices()
    rows = [(ledger_row(r, targets[r.target], prices, wall_t0=wall_t0, t0=t0), r) for r in records]
    if write and rows:
        try:
            services.ledger().record_many([row for row, _ in rows])
        except (RelayError, OSError) as exc:
            warnings.append(f"bench requests not recorded in the ledger: {getattr(exc, 'message', exc)}")
    return rows


def _exit_code(records: Sequence[Record], n_targets: int, interrupted: int | None) -> int:
    if interrupted:
        return interrupted
    for target in range(n_targets):
        mine = [r for r in records if r.target == target and not r.warmup]
        if mine and not any(r.ok for r in mine):
            first = next(r for r in mine if r.error)
            return int(first.failure.exit_code if first.failure is not None else ExitCode.INTERRUPTED)
    return 0
