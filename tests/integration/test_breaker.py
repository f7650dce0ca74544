"""The circuit breaker across real relay processes against an endpoint that answers 503 to everything:
how many requests the dead endpoint still gets, how fast a request reaches its fallback once the circuit
is open, the refused attempts in the ledger, and the message and exit code without a fallback."""

from __future__ import annotations

import io
import re
import statistics
import time

import pytest

from relaycli.context import AppContext
from relaycli.datatypes import Message
from relaycli.errors import CircuitOpen, RelayError
from relaycli.pipeline import Ask
from tests.conftest import run_relay

from .limit_servers import DownServer, running
from .support import ledger_rows, write_config
from .workers import WORKERS, run_workers

FAILURES = 3


def down_profile(url: str, name: str, *, fallback: bool) -> str:
    return (
        f'[profiles.{name}]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4.1-mini"\nretries = 0\ncache = false\n'
        f"breaker = {{ failures = {FAILURES}, cooldown = 30 }}\n" + ('fallback = ["mock"]\n' if fallback else "")
    )


def in_process(env: dict[str, str], profile: str, text: str) -> float:
    """Seconds for one request through the pipeline as ``relay stream`` runs it."""
    ctx = AppContext(env=env, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    try:
        start = time.perf_counter()
        ctx.pipeline.run(
            Ask(model="gpt-4.1-mini", messages=(Message("user", text),)),
            lambda delta: None,
            profile=ctx.profile(profile),
            command="stream",
        )
        return time.perf_counter() - start
    finally:
        ctx.close()


def open_circuit(env: dict[str, str], profile: str) -> None:
    """Three requests that fail with a 503 (in this process: quicker than three relay processes)."""
    for i in range(FAILURES):
        with pytest.raises(RelayError) as caught:
            in_process(env, profile, f"fails {i}")
        assert not isinstance(caught.value, CircuitOpen) and caught.value.exit_code == 5


def test_an_open_circuit_keeps_8_processes_off_a_dead_endpoint(relay_env: dict[str, str]) -> None:
    server = DownServer()
    per_worker = 2
    with running(server) as url:
        write_config(relay_env, down_profile(url, "down", fallback=True))
        done = run_workers(relay_env, "down", per_worker)
        assert [d.code for d in done] == [0] * len(done), [d.err for d in done if d.code]  # the fallback answered
        sent = server.chat_requests
        # Only requests that were on their way before the third failure was recorded reach the endpoint:
        # the three that opened it and at most one more per other process.
        print(f"{WORKERS} processes x {per_worker} requests: the 503 endpoint received {sent} (threshold {FAILURES})")
        assert FAILURES <= sent <= FAILURES + WORKERS - 1

        # once open, a request goes to the fallback at once: time it against asking the fallback directly
        in_process(relay_env, "mock", "warm-up")
        pairs = [
            (in_process(relay_env, "mock", f"direct {i}"), in_process(relay_env, "down", f"via {i}")) for i in range(5)
        ]
        direct, via = (statistics.median(times) for times in zip(*pairs, strict=True))
        print(f"median in-process request: {direct * 1000:.1f} ms direct, {via * 1000:.1f} ms via the open circuit")
        assert via - direct < 0.05
        assert server.chat_requests == sent  # nothing more reached the dead endpoint

    rows = ledger_rows(relay_env)
    down = [r for r in rows if r["profile"] == "down"]
    refused = [r for r in down if r["error_class"] == "CircuitOpen"]
    assert len(down) == len(done) + 5 and len(refused) == len(down) - sent
    assert all(r["outcome"] == "error" for r in down)
    assert sum(r["profile"] == "mock" and r["outcome"] == "ok" for r in rows) == len(done) + 11


def test_without_a_fallback_an_open_circuit_is_exit_5_until_ping_resets_it(relay_env: dict[str, str]) -> None:
    server = DownServer()
    with running(server) as url:
        write_config(relay_env, down_profile(url, "bare", fallback=False))
        open_circuit(relay_env, "bare")
        ran = run_relay("stream", "-p", "bare", "hi", env=relay_env)
        assert server.chat_requests == FAILURES  # refused without touching the endpoint
        assert ran.code == 5, ran.err
        first = ran.err.splitlines()[0]
        assert re.fullmatch(
            r"relay: error: circuit open for profile 'bare' since \d\d:\d\d after 3 failures; next probe in \d+ s; "
            r"last error: HTTP 503.*",
            first,
        ), ran.err
        assert "relay ping -p bare --reset" in ran.err
        assert ledger_rows(relay_env)[-1]["error_class"] == "CircuitOpen"

        reset = run_relay("ping", "-p", "bare", "--reset", env=relay_env)
        assert reset.code == 5 and "profile 'bare': circuit closed and pause cleared" in reset.err
        again = run_relay("stream", "-p", "bare", "hi", env=relay_env)
        assert again.code == 5 and "HTTP 503" in again.err and "circuit open" not in again.err
        assert server.chat_requests == FAILURES + 1  # the endpoint is asked again
