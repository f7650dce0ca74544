"""Many relay processes at once, as ``xargs -P 8`` runs them, and a start line to hold them at."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from relaycli.config.profile import Profile
from relaycli.limits.guard import SharedGuard
from relaycli.limits.status import look
from relaycli.limits.store import LimitStore

WORKERS = 8


@dataclass
class Done:
    code: int
    err: str


def run_workers(
    env: dict[str, str],
    profile: str,
    per_worker: int,
    workers: int = WORKERS,
    *,
    started: Callable[[], None] | None = None,
) -> list[Done]:
    """``workers`` loops at once, each running ``per_worker`` relay processes one after the other;
    ``started`` runs once they are all under way."""
    full = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}

    def worker(n: int) -> list[Done]:
        done = []
        for i in range(per_worker):
            ran = subprocess.run(
                [sys.executable, "-m", "relaycli", "stream", "-p", profile, "--no-cache", f"worker {n} request {i}"],
                env=full,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            done.append(Done(ran.returncode, ran.stderr))
        return done

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(worker, n) for n in range(workers)]
        if started is not None:
            started()
        return [d for future in futures for d in future.result()]


def hold_until_waiting(env: dict[str, str], name: str, count: int) -> Callable[[], None]:
    """Hold ``name``'s requests at the start line (a long shared pause) and give back a function that
    waits until ``count`` relay processes wait there, then ends the pause for all of them at one moment
    (1.2 s on: a waiting process looks again at least every second): the run then measures the limit, not
    how long eight Pythons take to start on a busy machine."""
    db = Path(env["RELAY_HOME"]) / "cache" / "limits.db"
    holder = SharedGuard(db, warn=print)
    profile = Profile(name=name, base_url="http://127.0.0.1:9/v1")
    holder.observe(profile, 429, {"retry-after": "120"})
    holder.close()

    def release() -> None:
        deadline = time.monotonic() + 60
        while look(db, [profile])[0].waiting < count:
            assert time.monotonic() < deadline, "the processes never all arrived"
            time.sleep(0.05)
        store, _ = LimitStore.open(db)
        try:
            with store.transaction() as tx:
                tx.put(name, "pause", {"until": time.time() + 1.2, "why": "the start line"})
        finally:
            store.close()

    return release
