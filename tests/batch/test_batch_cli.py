"""`relay batch` end to end: the real CLI in a subprocess against the session's local relay, over a real
loopback socket."""

from __future__ import annotations

import json
import random
import stat
from pathlib import Path
from typing import Any

from tests.conftest import run_relay
from tests.integration.support import ledger_rows, write_config

NO_RETRIES = "[profiles.mock]\nretries = 0\n"


def rows_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def sent(mock_server: object) -> int:
    return len(mock_server.log)  # type: ignore[attr-defined]


def test_every_line_gets_one_output_line_in_input_order_with_faults(
    relay_env: dict[str, str], mock_server: object, tmp_path: Path
) -> None:
    write_config(relay_env, NO_RETRIES)
    lines = [f"[[mock: fail=500]] prompt {i}" if i % 10 == 3 else f"prompt {i}" for i in range(40)]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(lines[:20]) + "\n\n" + "\n".join(lines[20:]) + "\n")
    before = sent(mock_server)
    ran = run_relay("batch", "-p", "mock", str(prompts), "-c", "8", env=relay_env)
    assert ran.code == 5, ran.err  # EndpointError, the only kind of failure
    out = rows_of(ran.out)
    numbers = list(range(1, 21)) + list(range(22, 42))  # line 21 is blank
    assert [r["id"] for r in out] == [str(n) for n in numbers]
    failed = [r for r in out if r["error"] is not None]
    assert len(failed) == 4 and {r["error"]["class"] for r in failed} == {"EndpointError"}
    assert all(r["error"]["exit_code"] == 5 and r["finish_reason"] is None for r in failed)
    ok = [r for r in out if r["error"] is None]
    assert all(r["finish_reason"] == "stop" and r["text"] and r["cost"]["usd"] for r in ok)
    assert {r["profile"] for r in out} == {"mock"} and {r["model"] for r in out} == {"gpt-4.1-mini"}
    assert set(out[0]) >= {"id", "text", "finish_reason", "usage", "cost", "cached", "latency_ms", "error"}
    assert sent(mock_server) - before == 40
    assert "batch: 40 lines in" in ran.err and "36 ok, 4 failed (EndpointError 4)" in ran.err
    assert "--resume" in ran.err  # how to send the failed ones again
    rows = ledger_rows(relay_env)
    assert len(rows) == 40 and {r["command"] for r in rows} == {"batch"}
    assert sorted(r["outcome"] for r in rows) == ["error"] * 4 + ["ok"] * 36


def test_unordered_writes_lines_as_they_finish(relay_env: dict[str, str], tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"id": "slow", "prompt": "[[mock: ttft=0.6]] slow"}\n'
        + "".join(f'{{"id": "q{i}", "prompt": "quick {i}"}}\n' for i in range(5))
    )
    ran = run_relay("batch", "-p", "mock", str(prompts), "--unordered", "-c", "3", env=relay_env)
    assert ran.code == 0, ran.err
    ids = [r["id"] for r in rows_of(ran.out)]
    assert sorted(ids) == sorted(["slow", "q0", "q1", "q2", "q3", "q4"]) and ids[-1] == "slow"
    ordered = run_relay("batch", "-p", "mock", str(prompts), "-c", "3", "--no-cache", env=relay_env)
    assert [r["id"] for r in rows_of(ordered.out)] == ["slow", "q0", "q1", "q2", "q3", "q4"]


def test_resume_sends_only_the_failed_ones_and_compacts(
    relay_env: dict[str, str], mock_server: object, tmp_path: Path
) -> None:
    write_config(relay_env, NO_RETRIES)
    seed = random.randrange(10**9)  # the relay counts fail_times per directive string: unique per test run
    items = [
        {"id": f"k{i}", "prompt": f"[[mock: fail=503 fail_times=1 seed={seed + i}]] p{i}" if i % 4 == 1 else f"p{i}"}
        for i in range(12)
    ]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(item) + "\n" for item in items))
    out = tmp_path / "out.jsonl"
    first = run_relay("batch", "-p", "mock", str(prompts), "-O", str(out), env=relay_env)
    assert first.code == 5, first.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [r["id"] for r in rows_of(out.read_text()) if r["error"]] == ["k1", "k5", "k9"]
    assert f"relay batch {prompts} --resume {out}" in first.err
    dry = run_relay("batch", "-p", "mock", str(prompts), "--resume", str(out), "--dry-run", env=relay_env)
    assert dry.code == 0 and "3 requests to mock (9 done before, not counted)" in dry.out
    before = sent(mock_server)
    again = run_relay("batch", "-p", "mock", str(prompts), "--resume", str(out), env=relay_env)
    assert again.code == 0, again.err
    assert sent(mock_server) - before == 3  # only the failed ones
    assert "3 ok, 9 done before (skipped)" in again.err
    final = rows_of(out.read_text())
    assert [r["id"] for r in final] == [f"k{i}" for i in range(12)] and all(r["error"] is None for r in final)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    before = sent(mock_server)
    done = run_relay("batch", "-p", "mock", str(prompts), "--resume", str(out), env=relay_env)
    assert done.code == 0 and sent(mock_server) == before and rows_of(out.read_text()) == final


def test_repeated_ids_and_bad_lines_in_a_file_stop_before_anything_is_sent(
    relay_env: dict[str, str], mock_server: object, tmp_path: Path
) -> None:
    before = sent(mock_server)
    twice = tmp_path / "twice.jsonl"
    twice.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "y"}\n{"id": "a", "prompt": "z"}\n')
    ran = run_relay("batch", "-p", "mock", str(twice), env=relay_env)
    assert ran.code == 2 and ran.out == ""
    assert f"{twice}: line 3 repeats the id 'a' of line 1" in ran.err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": \n')
    ran = run_relay("batch", "-p", "mock", str(bad), env=relay_env)
    assert ran.code == 2 and f"{bad}, line 2: not valid JSON" in ran.err
    missing = run_relay("batch", "-p", "mock", str(tmp_path / "nope.txt"), env=relay_env)
    assert missing.code == 2 and "cannot read" in missing.err
    assert sent(mock_server) == before


def test_stdin_lines_are_read_as_they_come_and_a_bad_one_gets_its_own_line(
    relay_env: dict[str, str], mock_server: object
) -> None:
    before = sent(mock_server)
    text = '{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": \n{"prompt": "z"}\n'
    ran = run_relay("batch", "-p", "mock", "-", input=text, env=relay_env)
    assert ran.code == 2, ran.err
    out = rows_of(ran.out)
    assert [r["id"] for r in out] == ["a", "2", "3"]
    assert out[1]["error"]["class"] == "UsageError" and "stdin, line 2: not valid JSON" in out[1]["error"]["message"]
    assert sent(mock_server) - before == 2
    ran = run_relay(
        "batch", "-p", "mock", input='{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n', env=relay_env
    )
    assert ran.code == 2 and "stdin: line 2 repeats the id 'a' of line 1" in ran.err
    assert [r["id"] for r in rows_of(ran.out)] == ["a"]  # what was read before it is answered and written


def test_dry_run_sends_nothing_and_prices_the_input(
    relay_env: dict[str, str], mock_server: object, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"prompt": "' + "x" * 400 + '", "max_tokens": 100}\n{"prompt": "abcd", "model": "no-such-model-xyz"}\n'
    )
    before = sent(mock_server)
    ran = run_relay("batch", "-p", "mock", str(prompts), "--dry-run", env=relay_env)
    assert ran.code == 0, ran.err
    assert sent(mock_server) == before and not ledger_rows(relay_env)
    assert "dry run, nothing sent: 2 requests to mock" in ran.out
    assert "input: ~101 tokens (characters / 4)" in ran.out
    assert "output: at most 1,124 tokens (each line's max_tokens; 1 without one counted at 1,024)" in ran.out
    # gpt-4.1-mini: $0.40 / $1.60 per 1M tokens: 100 in = $0.00004, + 100 out = $0.0002
    assert "gpt-4.1-mini: 1 request, ~100 in, up to 100 out, $0.000040 to $0.000200" in ran.out
    assert "no-such-model-xyz: 1 request, ~1 in, up to 1,024 out, unpriced" in ran.out


def test_the_exit_code_is_that_of_the_most_common_failure(relay_env: dict[str, str], tmp_path: Path) -> None:
    write_config(relay_env, NO_RETRIES)
    prompts = tmp_path / "p.txt"
    prompts.write_text("[[mock: fail=429]] a\n[[mock: fail=500]] b\n[[mock: fail=429]] c\nfine\n")
    ran = run_relay("batch", "-p", "mock", str(prompts), env=relay_env)
    assert ran.code == 8, ran.err
    assert "1 ok, 3 failed (RateLimited 2, EndpointError 1)" in ran.err
