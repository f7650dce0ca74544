"""`relay stream` retries a stream that broke before anything of it was shown, and never shows an answer twice:
the fault matrix through the real CLI on the session's local relay (runs side by side to keep it quick), the
ledger's one row per request with its retries, and the fallback when the first profile keeps breaking."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

from relaycli.mock.answer import answer_tokens
from tests.conftest import Ran, run_relay

from .support import ledger_rows, write_config

FAULTS = ("stop_after", "malformed_after", "error_after", "stall_after", "reset_after")
POSITIONS = (0, 3)  # tests/core/test_stream_retry.py runs every position (0, 1, 3, 5) in-process
# a short read limit, so that a stall ends quickly (the local relay answers at once otherwise)
QUICK = "timeout = { connect = 2, read = 0.4, total = 30 }\n"
_seeds = itertools.count(80_000)


def _case(directives: str) -> tuple[str, str]:
    """A prompt with its own seed (the relay counts fail_times per directive string) and its whole answer."""
    seed = next(_seeds)
    prompt = f"[[mock: {directives} seed={seed}]] hi"
    return prompt, "".join(answer_tokens(1, prompt, seed, 40, complete=True))


def _run_all(env: dict[str, str], argvs: list[list[str]]) -> list[Ran]:
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(lambda argv: run_relay(*argv, env=env), argvs))


def test_json_recovers_from_every_fault_before_the_answer_is_printed(relay_env: dict[str, str]) -> None:
    write_config(relay_env, f"[profiles.mock]\n{QUICK}")
    cases = [_case(f"{fault}={at} fail_times=1") for fault, at in itertools.product(FAULTS, POSITIONS)]
    ran = _run_all(relay_env, [["stream", "-p", "mock", "--json", prompt] for prompt, _ in cases])
    failed = []
    for (prompt, answer), r in zip(cases, ran, strict=True):
        doc = json.loads(r.out) if r.code == 0 else {}
        if not (doc.get("text") == answer and doc["retries"] == 1 and r.err.count("retrying in") == 1):
            failed.append((prompt, r.code, r.err[-300:]))
    assert failed == []
    rows = ledger_rows(relay_env)  # one row per request, its retry counted in it
    assert len(rows) == len(cases) and {(row["outcome"], row["retries"]) for row in rows} == {("ok", 1)}
    assert all(row["completion_tokens"] == 40 for row in rows)


def test_text_mode_never_prints_an_answer_twice(relay_env: dict[str, str]) -> None:
    # the cases that fail by design (faults after shown text) are as many as the default breaker allows:
    # a higher threshold keeps the circuit shut whatever order they finish in
    write_config(relay_env, f"[profiles.mock]\n{QUICK}breaker = {{ failures = 50 }}\n")
    cases = [_case(f"{fault}={at} fail_times=1") for fault, at in itertools.product(FAULTS, (0, 3))]
    # reasoning is not shown by the text output: a fault after reasoning alone is retried too
    cases += [_case(f"reasoning=3 {fault}=0 fail_times=1") for fault in ("stop_after", "stall_after")]
    ran = _run_all(relay_env, [["stream", "-p", "mock", prompt] for prompt, _ in cases])
    for (prompt, answer), r in zip(cases, ran, strict=True):
        if r.code == 0:
            assert r.out == answer + "\n" and r.err.count("retrying in") == 1, (prompt, r.err)
        else:  # something was shown: no retry, the partial answer kept, the failure's exit code
            assert "=3 " in prompt and r.code in (5, 6) and "retrying" not in r.err, (prompt, r.code, r.err)
            assert answer.startswith(r.out.rstrip("\n")) and r.out.strip(), (prompt, r.out)
    assert [r.code for (prompt, _), r in zip(cases, ran, strict=True) if "=0 " in prompt] == [0] * (len(FAULTS) + 2)
    rows = ledger_rows(relay_env)
    retried = sorted((row["outcome"], row["retries"]) for row in rows if row["outcome"] == "ok")
    assert retried == [("ok", 1)] * sum(r.code == 0 for r in ran)
    assert sorted(row["outcome"] for row in rows if row["outcome"] != "ok") == sorted(
        "error" if r.code == 6 or "reported an error" in r.err or "malformed" in r.err else "truncated"
        for r in ran
        if r.code
    )


def test_json_falls_back_when_the_first_profile_keeps_truncating(
    relay_env: dict[str, str], mock_server: object
) -> None:
    url = mock_server.url  # type: ignore[attr-defined]
    write_config(
        relay_env,
        f'[profiles.flaky]\nbase_url = "{url}/v1"\nretries = 1\ndefault_model = "gpt-4.1-mini"\n'
        f'api_key = "unused"\nfallback = ["mock"]\n{QUICK}',
    )
    prompt, answer = _case("stop_after=3 fail_times=2")  # the retry breaks off too; the fallback's answer does not
    r = run_relay("stream", "-p", "flaky", "--json", prompt, env=relay_env)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["profile"] == "mock" and doc["text"] == answer
    assert "retrying in" in r.err and "falling back to 'mock'" in r.err
    rows = ledger_rows(relay_env)  # each profile tried gets its row
    assert [(row["profile"], row["outcome"], row["retries"]) for row in rows] == [
        ("flaky", "truncated", 1),
        ("mock", "ok", 0),
    ]
