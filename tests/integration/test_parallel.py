"""Parallel `relay` processes share one ledger: no lost row, no "database is locked".

The default suite runs 8 processes at once with 3 requests each (24 rows written while the others write);
the 400-request version is ``-m slow`` (``benchmarks/run_slow.sh``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from .support import ledger_rows

WORKERS = 8


@pytest.mark.parametrize("per_worker", [3, pytest.param(50, marks=pytest.mark.slow)])
def test_8_processes_write_every_row(relay_env: dict[str, str], per_worker: int) -> None:
    env = {**os.environ, **relay_env}
    script = (
        f"for i in $(seq {per_worker}); do {sys.executable} -m relaycli stream -p mock "
        f'--max-tokens 5 "worker $1 request $i" >/dev/null || echo "exit $? on $i" >&2; done'
    )

    def worker(n: int) -> str:
        done = subprocess.run(
            ["bash", "-c", script, "worker", str(n)], env=env, capture_output=True, text=True, timeout=600
        )
        return done.stderr

    with ThreadPoolExecutor(WORKERS) as pool:
        errors = "".join(pool.map(worker, range(WORKERS)))
    assert "locked" not in errors
    assert errors == ""
    rows = ledger_rows(relay_env, n=10_000)
    assert len(rows) == WORKERS * per_worker
    assert len({r["id"] for r in rows}) == WORKERS * per_worker
    assert all(r["outcome"] == "ok" and r["completion_tokens"] == 5 for r in rows)
