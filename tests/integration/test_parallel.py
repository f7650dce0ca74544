"""Parallel `relay` processes share one ledger: no lost row, no "database is locked"."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from .support import ledger_rows

WORKERS, PER_WORKER = 8, 50


def test_8_processes_50_requests_each_give_400_rows(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env}
    script = (f"for i in $(seq {PER_WORKER}); do {sys.executable} -m relaycli stream -p mock "
              f"--max-tokens 5 \"worker $1 request $i\" >/dev/null || echo \"exit $? on $i\" >&2; done")

    def worker(n: int) -> str:
        done = subprocess.run(["bash", "-c", script, "worker", str(n)], env=env, capture_output=True, text=True,
                              timeout=600)
        return done.stderr

    with ThreadPoolExecutor(WORKERS) as pool:
        errors = "".join(pool.map(worker, range(WORKERS)))
    assert "locked" not in errors
    assert errors == ""
    rows = ledger_rows(relay_env, n=10_000)
    assert len(rows) == WORKERS * PER_WORKER
    assert len({r["id"] for r in rows}) == WORKERS * PER_WORKER
    assert all(r["outcome"] == "ok" and r["completion_tokens"] == 5 for r in rows)
