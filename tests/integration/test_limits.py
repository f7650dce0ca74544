"""Client-side limits across real relay processes against a server that enforces its own: 8 processes
share one profile's bucket and see no 429, and finish about when the limit allows; without a configured
limit they learn it from the server and each collects at most one 429; a killed process leaves no slot
taken. Figures (measured on a 2-core machine, printed with ``-rP``) are in the README."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_relay

from .limit_servers import HangOnce, QuotaServer, running
from .support import ledger_rows, write_config
from .workers import WORKERS, hold_until_waiting, run_workers


def quota_profile(url: str, extra: str = "") -> str:
    return (
        f'[profiles.quota]\nbase_url = "{url}/v1"\napi_key_env = "QUOTA_TEST_KEY"\ndefault_model = "m"\n'
        f"cache = false\n{extra}"
    )


@pytest.mark.parametrize(
    ("per_worker", "capacity", "per_second"),
    [
        # 8 processes at once: 2 requests in the burst, the other 6 at 4 a second: 1.5 s
        (1, 2, 4.0),
        # as `xargs -P 8` runs 40: each process starts when one before it ends; 8 in the burst, 32 at 2 a
        # second: 16 s (each loop has 4 s to start its next process before that one's turn comes)
        pytest.param(5, 8, 2.0, marks=pytest.mark.slow),
    ],
)
def test_processes_sharing_an_rpm_limit_see_no_429_and_finish_when_the_limit_allows(
    relay_env: dict[str, str], per_worker: int, capacity: int, per_second: float
) -> None:
    server = QuotaServer(capacity=capacity, per_second=per_second)
    with running(server) as url:
        rpm = per_second * 60
        write_config(relay_env, quota_profile(url, f"limits = {{ rpm = {rpm:g}, burst = {capacity} }}\n"))
        release = hold_until_waiting(relay_env, "quota", WORKERS)
        done = run_workers({**relay_env, "QUOTA_TEST_KEY": "sk-quota"}, "quota", per_worker, started=release)
    total = WORKERS * per_worker
    assert [d.code for d in done] == [0] * total, [d.err for d in done if d.code]
    assert server.statuses == [200] * total  # not one 429
    assert not any("HTTP 429" in d.err for d in done)
    # what the limit allows: the bucket's burst at once, then one request per refill
    ideal = (total - capacity) / per_second
    span = server.admitted[-1] - server.admitted[0]
    print(f"{total} requests from {WORKERS} processes: {span:.2f} s from first to last, ideal {ideal:.2f} s")
    assert span <= ideal * 1.15, f"{span:.2f} s, ideal {ideal:.2f} s"


def test_without_a_configured_limit_each_process_collects_at_most_one_429(relay_env: dict[str, str]) -> None:
    server = QuotaServer(capacity=2, per_second=2.0)  # 8 arrivals even spread over a second overrun it
    with running(server) as url:
        write_config(relay_env, quota_profile(url))
        # the worst case: all 8 send at the same moment, before anything is known about the server
        release = hold_until_waiting(relay_env, "quota", WORKERS)
        done = run_workers({**relay_env, "QUOTA_TEST_KEY": "sk-quota"}, "quota", 1, started=release)
    assert [d.code for d in done] == [0] * len(done), [d.err for d in done if d.code]
    per_process = [d.err.count("HTTP 429") for d in done]
    print(f"429s per process: {per_process}; the server answered {server.statuses.count(429)} of {len(server.seen)}")
    assert sum(per_process) >= 1  # those over the server's bucket met its limit, once each...
    assert max(per_process) <= 1, per_process  # ...and their retries waited for the bucket learned meanwhile
    assert server.statuses.count(429) == sum(per_process)
    assert server.statuses.count(200) == len(done)


def test_a_process_killed_mid_request_leaves_no_slot_taken(relay_env: dict[str, str]) -> None:
    server = HangOnce()
    with running(server) as url:
        write_config(
            relay_env,
            f'[profiles.slow]\nbase_url = "{url}/v1"\ndefault_model = "m"\ncache = false\n'
            "limits = { max_in_flight = 1 }\ntimeout = { total = 60 }\n",
        )
        env = {**os.environ, **relay_env}
        victim = subprocess.Popen(
            [sys.executable, "-m", "relaycli", "stream", "-p", "slow", "first"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        try:
            assert server.first_arrived.wait(30), "the first request never arrived"
        finally:
            victim.kill()  # SIGKILL: no exit handler runs, the slot is never given back
            victim.wait(10)
        start = time.monotonic()
        ran = run_relay("stream", "-p", "slow", "second", env=relay_env, timeout=30)
        took = time.monotonic() - start
    assert ran.code == 0, ran.err
    assert ran.out == "ok\n" or ran.out == "ok"
    assert "waiting" not in ran.err  # it did not wait for the dead process's slot
    assert took < 10, f"{took:.1f} s"
    assert [r["outcome"] for r in ledger_rows(relay_env)] == ["ok"]  # the killed one wrote nothing


def test_a_batch_under_an_rpm_limit_waits_on_its_loop_and_sees_no_429(
    relay_env: dict[str, str], tmp_path: Path
) -> None:
    """``relay batch`` runs its requests as greenlets on one event loop: their waits for the shared bucket
    sleep on the loop, so 8 at once share it as 8 processes do."""
    server = QuotaServer(capacity=2, per_second=4.0)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"question {n}\n" for n in range(10)))
    with running(server) as url:
        write_config(relay_env, quota_profile(url, "limits = { rpm = 240, burst = 2 }\n"))
        started = time.monotonic()
        done = run_relay(
            "batch", "-p", "quota", str(prompts), "-c", "8", env={**relay_env, "QUOTA_TEST_KEY": "sk-quota"}
        )
        took = time.monotonic() - started
    assert done.code == 0, done.err
    assert server.statuses == [200] * 10  # not one 429
    ideal = (10 - 2) / 4.0
    span = server.admitted[-1] - server.admitted[0]
    assert ideal * 0.85 <= span <= ideal * 1.15, f"{span:.2f} s, ideal {ideal:.2f} s"
    assert took < ideal + 5
