"""Several relay processes writing to one ledger at once (and migrating it on first use)."""

from __future__ import annotations

import multiprocessing
from decimal import Decimal
from pathlib import Path
from typing import Any

from relaycli.ledger import Ledger, LedgerRow

PROCESSES = 8
WRITES = 50


def _writer(path: str, worker: int, barrier: Any) -> None:
    barrier.wait()  # every process opens the fresh database at the same moment
    with Ledger.open(Path(path)) as ledger:
        for i in range(WRITES):
            ledger.record(
                LedgerRow(
                    command="bench",
                    profile=f"p{worker}",
                    host="127.0.0.1",
                    protocol="openai",
                    model_requested="gpt-4.1",
                    prompt_tokens=i,
                    completion_tokens=1,
                    cost_usd=Decimal("0.000001"),
                    tag="bench",
                )
            )


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    errors = ctx.Queue()
    procs = [ctx.Process(target=_run, args=(str(path), n, barrier, errors)) for n in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert failures == []
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    with Ledger.open(path) as ledger:
        assert ledger.count() == PROCESSES * WRITES
        assert ledger.totals().cost_usd == Decimal("0.0004")
        assert len({row.id for row in ledger.recent(limit=1000)}) == PROCESSES * WRITES


def _run(path: str, worker: int, barrier: Any, errors: Any) -> None:
    try:
        _writer(path, worker, barrier)
    except BaseException as exc:  # reported to the parent, e.g. "database is locked"
        errors.put(f"{type(exc).__name__}: {exc}")
        raise
