"""`relay stream` when things go wrong: the JSON document on failure, fallbacks that carry the model the
user meant or step aside, input that is not what it should be, and rows that say what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import run_relay

from .support import ledger_rows, write_config

DOWN = 'base_url = "http://127.0.0.1:9/v1"\nretries = 0\n'


def test_json_on_failure_still_prints_one_document(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "--json", "[[mock: stop_after=3 fail_times=99]] hi", env=relay_env)
    assert ran.code == 5, ran.err
    doc = json.loads(ran.out)
    assert doc["finish_reason"] is None and doc["text"].startswith("Mock")
    assert doc["error"]["class"] == "TruncatedResponse" and doc["error"]["exit_code"] == 5
    assert doc["error"]["message"] and doc["profile"] == "mock"
    assert "relay: error:" in ran.err  # the message still goes to stderr


def test_json_when_nothing_came_back(relay_env: dict[str, str]) -> None:
    write_config(relay_env, f'[profiles.down]\n{DOWN}default_model = "m"\n')
    ran = run_relay("stream", "-p", "down", "--json", "hi", env=relay_env)
    assert ran.code == 7, ran.err
    doc = json.loads(ran.out)
    assert doc["text"] == "" and doc["finish_reason"] is None and doc["usage"]["prompt_tokens"] is None
    assert doc["error"] == {"class": "NetworkError", "message": doc["error"]["message"], "exit_code": 7}
    assert doc["cost"] == {"usd": None, "billed": None, "currency": "USD"}


def test_json_money_is_an_exact_decimal_string(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "--json", "hi", env=relay_env)
    cost = json.loads(ran.out)["cost"]
    assert isinstance(cost["usd"], str) and "e" not in cost["usd"].lower()
    assert cost["usd"] == ledger_rows(relay_env)[0]["cost_usd"] or float(cost["usd"]) > 0


def test_an_alias_reaches_the_fallback_as_the_model_it_meant(relay_env: dict[str, str], mock_server: object) -> None:
    write_config(
        relay_env,
        f'[profiles.down]\n{DOWN}default_model = "gpt-4.1"\nfallback = ["mock"]\n'
        '[profiles.down.aliases]\nquick = "gpt-4.1-mini"\n',
    )
    ran = run_relay("stream", "-p", "down", "-m", "quick", "--json", "hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["model"] == "gpt-4.1-mini"
    assert mock_server.log[-1].model == "gpt-4.1-mini"  # type: ignore[attr-defined]


def test_a_fallback_without_a_key_is_skipped_and_the_real_failure_reported(relay_env: dict[str, str]) -> None:
    write_config(
        relay_env,
        f'[profiles.down]\n{DOWN}default_model = "m"\nfallback = ["keyless"]\n'
        '[profiles.keyless]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "NO_SUCH_KEY_VAR"\n',
    )
    ran = run_relay("stream", "-p", "down", "hi", env=relay_env)
    assert ran.code == 7, ran.err  # the relay was down: a network error, not "no API key"
    assert "fallback profile 'keyless' skipped" in ran.err and "NO_SUCH_KEY_VAR" in ran.err
    assert [r["outcome"] for r in ledger_rows(relay_env)] == ["error"]


def test_stdin_that_is_not_utf8_is_replaced_with_a_warning(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env}
    done = subprocess.run(
        [sys.executable, "-m", "relaycli", "stream", "-p", "mock", "--json"],
        input=b"caf\xe9\n",
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"not valid UTF-8: 1 byte sequence replaced" in done.stderr
    assert [r["outcome"] for r in ledger_rows(relay_env)] == ["ok"]
    done = subprocess.run(
        [sys.executable, "-m", "relaycli", "stream", "-p", "mock"],
        input="\ufeffhello".encode("utf-16"),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr  # UTF-16 with its BOM is read as such


def test_a_full_stdout_leaves_an_error_row(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "relaycli", "stream", "-p", "mock", "hi"],
            stdout=full,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            text=True,
        )
    assert done.returncode != 0
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "error" and row["error_class"], row


def test_bad_numbers_are_usage_errors(relay_env: dict[str, str]) -> None:
    for value in ("nan", "inf", "-inf"):
        ran = run_relay("stream", "-p", "mock", "-t", value, "hi", env=relay_env)
        assert ran.code == 2 and ("not a finite number" in ran.err or "not in the range" in ran.err), ran.err
    assert ledger_rows(relay_env) == []
    ran = run_relay("log", "-n", "100000000000000000000", env=relay_env)
    assert ran.code == 0, ran.err
    assert run_relay("log", "-n", "0", env=relay_env).code == 2  # refused, not quietly made 1


def test_a_usage_error_keeps_its_exit_code_when_stderr_is_a_closed_pipe(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env}
    for _ in range(4):
        done = subprocess.run(
            f'{sys.executable} -m relaycli stream -p mock --words 200 hi 2>&1 | head -c 1; echo " ${{PIPESTATUS[0]}}"',
            shell=True,
            executable="/bin/bash",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.split()[-1] == "2", done


def test_a_cost_too_large_to_store_is_a_warning_not_an_internal_error(relay_env: dict[str, str]) -> None:
    # $9M per 1M tokens, billed at 1,000,000 units per USD: far past what the ledger's integers hold
    write_config(
        relay_env,
        '[profiles.mock]\nbilling = { currency = "IDR", per_usd = 1000000 }\n'
        '[prices."gpt-4.1-mini"]\ninput = 9000000\noutput = 9000000\n',
    )
    ran = run_relay("stream", "-p", "mock", "[[mock: words=2000]] hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert "usage not recorded" in ran.err and "too large to store" in ran.err
    assert "internal error" not in ran.err
