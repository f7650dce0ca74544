"""The response cache end to end: the real `relay stream` in a subprocess, over a real loopback socket, against
the local relay, whose log says which requests reached the endpoint.

Every test asks its own questions: the prompt carries ``[[mock: seed=N]]`` with an N no other test uses, so
the requests of one test are told apart in the session server's log (the seed is part of the prompt, hence
of the cache key, and picks the answer's words).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer
from tests.conftest import Ran, run_relay
from tests.integration.support import ledger_rows, write_config

_seeds = itertools.count(random.Random(os.getpid()).randrange(10_000, 90_000) * 10)


class Question:
    """One test's question to the local relay, and how often the endpoint was asked it."""

    def __init__(self, server: Any, env: dict[str, str], directives: str = "", text: str = "What is HTTP/2?") -> None:
        self.server = server
        self.env = env
        self.seed = next(_seeds)
        self.prompt = f"[[mock: seed={self.seed} {directives}]] {text}"

    def ask(self, *flags: str, profile: str = "mock", env: dict[str, str] | None = None) -> Ran:
        return run_relay("stream", "-p", profile, *flags, self.prompt, env=env or self.env)

    @property
    def asked(self) -> int:
        """Requests of this question that reached the endpoint."""
        mine = f"seed={self.seed}"
        return sum(1 for rec in list(self.server.log) if mine in rec.directives.split(","))


def cache_db(env: dict[str, str]) -> Path:
    return Path(env["RELAY_HOME"]) / "cache" / "cache.db"


def entries(env: dict[str, str]) -> list[tuple[str, float, int]]:
    """(key, created, hits) of every stored answer, read with plain SQLite."""
    path = cache_db(env)
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT key, created, hits FROM entries").fetchall())
    finally:
        conn.close()


def ok(ran: Ran) -> str:
    assert ran.code == 0, ran.err
    assert "Traceback" not in ran.err
    return ran.out


# -- hits -------------------------------------------------------------------------------------------------


def test_a_second_identical_request_is_answered_from_the_cache(relay_env: dict[str, str], mock_server: Any) -> None:
    q = Question(mock_server, relay_env)
    first = ok(q.ask())
    assert first.startswith("Mock answer to 1 messages:") and q.asked == 1
    second = q.ask()
    assert ok(second) == first and second.err == ""
    doc = json.loads(ok(q.ask("--json")))
    assert q.asked == 1  # three answers, one request
    assert doc["text"] == first.rstrip("\n") and doc["cached"] is True and doc["finish_reason"] == "stop"
    ((key, _, hits),) = entries(relay_env)
    assert doc["cache"]["key"] == key and hits == 2
    assert 0 <= doc["cache"]["age_s"] < 120
    assert doc["cost"]["usd"] == "0"
    rows = ledger_rows(relay_env)
    assert [r["cached"] for r in rows] == [False, True, True]
    assert [r["outcome"] for r in rows] == ["ok", "ok", "ok"]
    paid = rows[0]["cost_usd"]
    assert paid is not None and float(paid) > 0 and rows[0]["saved_usd"] is None
    for hit in rows[1:]:
        assert hit["cost_usd"] == "0" and hit["saved_usd"] == paid
        assert hit["completion_tokens"] == rows[0]["completion_tokens"]
    assert doc["cache"]["saved"]["usd"] == paid


def test_changing_any_one_setting_asks_the_endpoint_again(relay_env: dict[str, str], mock_server: Any) -> None:
    q = Question(mock_server, relay_env)
    base = ok(q.ask())
    changes = [("-s", "You are terse."), ("-t", "0.5"), ("--max-tokens", "30"), ("-m", "gpt-4.1"), ("-o", "seed=1")]
    for n, flags in enumerate(changes, start=2):
        ok(q.ask(*flags))
        assert q.asked == n, f"{' '.join(flags)} was answered from the cache"
    assert ok(q.ask()) == base and q.asked == len(changes) + 1  # the original is still stored
    assert len(entries(relay_env)) == len(changes) + 1


def test_refresh_asks_again_and_replaces_the_stored_answer(relay_env: dict[str, str]) -> None:
    with MockServer(port=0) as own:  # its answers can change while the request stays the same
        env = {**relay_env, "RELAY_MOCK_URL": own.url}
        q = Question(own, env)
        first = ok(q.ask())
        own.options = MockOptions(words=25)  # a server-wide setting: not in the request, so not in the key
        assert ok(q.ask()) == first and q.asked == 1
        refreshed = ok(q.ask("--refresh"))
        assert q.asked == 2 and len(refreshed.split()) == 25 and len(first.split()) == 40
        assert ok(q.ask()) == refreshed and q.asked == 2
    assert len(entries(env)) == 1


def test_no_cache_neither_reads_nor_writes(relay_env: dict[str, str], mock_server: Any) -> None:
    q = Question(mock_server, relay_env)
    ok(q.ask("--no-cache"))
    assert entries(relay_env) == [] and q.asked == 1
    stored = ok(q.ask())
    assert q.asked == 2
    before = entries(relay_env)
    assert len(before) == 1
    assert ok(q.ask("--no-cache")) == stored and q.asked == 3  # asked again, although it was stored
    assert entries(relay_env) == before  # not replaced, not counted as a hit


def test_cache_only_fails_on_a_miss_without_sending_and_answers_a_hit(
    relay_env: dict[str, str], mock_server: Any
) -> None:
    q = Question(mock_server, relay_env)
    miss = q.ask("--cache-only")
    assert miss.code == 1 and miss.out == "" and "Traceback" not in miss.err
    assert "--cache-only" in miss.err and "no stored answer" in miss.err
    assert q.asked == 0 and entries(relay_env) == []
    stored = ok(q.ask())
    assert ok(q.ask("--cache-only")) == stored and q.asked == 1


def test_a_profile_with_cache_false_never_uses_the_cache(relay_env: dict[str, str], mock_server: Any) -> None:
    write_config(relay_env, "[profiles.mock]\ncache = false\n")
    q = Question(mock_server, relay_env)
    ok(q.ask())
    ok(q.ask())
    assert q.asked == 2 and entries(relay_env) == []
    refused = q.ask("--cache-only")
    assert refused.code == 1 and "cache = false" in refused.err and q.asked == 2


def test_cache_enabled_false_turns_it_off(relay_env: dict[str, str], mock_server: Any) -> None:
    write_config(relay_env, "[cache]\nenabled = false\n")
    q = Question(mock_server, relay_env)
    ok(q.ask())
    ok(q.ask())
    assert q.asked == 2 and not cache_db(relay_env).exists()


# -- only whole answers are kept --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    ["fail=500", "stop_after=3", "error_after=3"],
)
def test_a_failed_answer_is_not_stored(relay_env: dict[str, str], mock_server: Any, fault: str) -> None:
    write_config(relay_env, "[profiles.mock]\nretries = 0\n")
    q = Question(mock_server, relay_env, f"{fault} fail_times=1")  # the first request fails, the next does not
    failed = q.ask()
    assert failed.code == 5, failed.err
    assert "Traceback" not in failed.err and q.asked == 1
    assert entries(relay_env) == []
    good = ok(q.ask())  # the same request: it reaches the endpoint, and is answered in full
    assert q.asked == 2 and good.rstrip().endswith(".")
    assert len(entries(relay_env)) == 1  # now it is stored


def test_an_interrupted_answer_is_not_stored(relay_env: dict[str, str], mock_server: Any) -> None:
    q = Question(mock_server, relay_env, "words=400 token_delay=0.01")
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "stream", "-p", "mock", q.prompt],
        env={**os.environ, **relay_env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stdout.read(5) == b"Mock "
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert entries(relay_env) == []
    miss = q.ask("--cache-only")
    assert miss.code == 1 and "no stored answer" in miss.err


def test_a_truncated_answer_cut_by_max_tokens_is_whole_and_stored(relay_env: dict[str, str], mock_server: Any) -> None:
    # finish_reason "length": the endpoint ended the answer properly, at the cap it was given
    q = Question(mock_server, relay_env)
    short = ok(q.ask("--max-tokens", "8"))
    assert len(short.split()) == 8
    assert ok(q.ask("--max-tokens", "8")) == short and q.asked == 1


# -- a cache in trouble ----------------------------------------------------------------------------------------


def test_a_garbage_cache_file_costs_one_warning_line(relay_env: dict[str, str], mock_server: Any) -> None:
    path = cache_db(relay_env)
    path.parent.mkdir(parents=True)
    garbage = random.Random(3).randbytes(32 * 1024)
    path.write_bytes(garbage)
    q = Question(mock_server, relay_env)
    ran = q.ask()
    assert ran.code == 0 and ran.out.startswith("Mock answer to 1 messages:")
    lines = ran.err.splitlines()
    assert len(lines) == 1, ran.err
    assert lines[0].startswith("relay: warning:") and "damaged" in lines[0] and "Traceback" not in ran.err
    assert path.read_bytes() == garbage and q.asked == 1


def test_a_cache_folder_that_is_a_file_costs_one_warning_line_per_store(
    relay_env: dict[str, str], mock_server: Any
) -> None:
    blocker = Path(relay_env["RELAY_HOME"]) / "cache"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    q = Question(mock_server, relay_env)
    ran = q.ask()
    assert ran.code == 0 and ran.out.startswith("Mock answer") and "Traceback" not in ran.err
    # the cache folder holds the response cache and the limits store: one line each, then the answer
    cache, limits = ran.err.splitlines()
    assert "response cache" in cache and "limits and circuit breaker skipped" in limits


def test_eight_processes_asking_the_same_new_question_at_once(relay_env: dict[str, str], mock_server: Any) -> None:
    q = Question(mock_server, relay_env, "token_delay=0.002")
    env = {**os.environ, **relay_env, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "relaycli", "stream", "-p", "mock", q.prompt],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    done = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
    texts = {out for _, out, _ in done}
    assert [code for code, _, _ in done] == [0] * 8, [err for _, _, err in done]
    assert len(texts) == 1 and next(iter(texts)).startswith("Mock answer to 1 messages:")
    assert [err for _, _, err in done] == [""] * 8  # no "locked", no warning of any kind
    conn = sqlite3.connect(cache_db(relay_env))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    asked = q.asked
    assert 1 <= asked <= 8
    hit = json.loads(ok(q.ask("--json")))
    assert hit["cached"] is True and hit["text"] == next(iter(texts)).rstrip("\n") and q.asked == asked


# -- pacing --------------------------------------------------------------------------------------------------


def timed_run(env: dict[str, str], *args: str) -> tuple[str, float]:
    """The text and the seconds from its first byte on stdout to its last word."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "stream", "-p", "mock", *args],
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    received = b""
    first = last = None
    while chunk := os.read(proc.stdout.fileno(), 65536):
        now = time.perf_counter()
        first = first or now
        received += chunk
        if received.rstrip().endswith(b"."):  # the answer's last word ends with a full stop
            last = last or now
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert first is not None and last is not None
    return received.decode(), last - first


def test_replay_timing_paces_a_hit_as_it_first_arrived(relay_env: dict[str, str], mock_server: Any) -> None:
    words, delay = 12, 0.03  # the last word arrives (words - 1) * delay after the first: 0.33 s
    q = Question(mock_server, relay_env, f"words={words} token_delay={delay}")
    original, original_span = timed_run(relay_env, q.prompt)
    paced, paced_span = timed_run(relay_env, "--replay-timing", q.prompt)
    instant, instant_span = timed_run(relay_env, q.prompt)
    assert original == paced == instant and q.asked == 1
    expected = (words - 1) * delay
    assert original_span >= 0.8 * expected
    assert paced_span >= 0.7 * min(original_span, expected * 1.5), (original_span, paced_span)
    assert instant_span < 0.5 * expected, instant_span


def test_a_retried_answer_is_paced_from_the_attempt_that_gave_it(relay_env: dict[str, str], mock_server: Any) -> None:
    q = Question(mock_server, relay_env, "stop_after=3 fail_times=1 words=10")
    doc = json.loads(ok(q.ask("--json")))  # nothing was shown: the cut stream is retried after a backoff
    assert doc["retries"] == 1 and q.asked == 2
    conn = sqlite3.connect(cache_db(relay_env))
    try:
        ((deltas,),) = conn.execute("SELECT deltas FROM entries").fetchall()
    finally:
        conn.close()
    first_offset_ms = json.loads(deltas)[0][0]
    # the answering attempt's own time to its first word (a few ms here), not the failed attempt and the
    # backoff before it (over 500 ms), which a --replay-timing replay would otherwise wait for
    assert first_offset_ms < 300, first_offset_ms
