"""`relay stream` as a user runs it: the real CLI in a subprocess, the local relay on a real loopback socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import run_relay

from .support import ledger_rows, write_config


def test_streams_text_and_records_a_row(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "hello", "there", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("Mock answer to 1 messages:") and ran.out.endswith(".\n")
    assert ran.err == ""
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "ok" and row["command"] == "stream" and row["profile"] == "mock"
    assert row["prompt_tokens"] == 2 and row["completion_tokens"] == 40
    assert row["model_requested"] == "gpt-4.1-mini" and row["model_answered"] == "gpt-4.1-mini"
    # gpt-4.1-mini list price: $0.40 in, $1.60 out per 1M tokens
    assert row["cost_usd"] == "0.0000648" and row["price_source"]
    assert row["host"] == relay_env["RELAY_MOCK_URL"].split("//")[1]


def test_stdin_is_appended_after_the_arguments(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "--json", "Summarise:", input="one two three\n", env=relay_env)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["usage"]["prompt_tokens"] == 4


def test_json_document_has_the_contract_keys(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "-m", "smart", "--json", "hi", env=relay_env)
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    assert {
        "text",
        "model",
        "profile",
        "finish_reason",
        "usage",
        "cost",
        "latency_ms",
        "ttft_ms",
        "cached",
        "request_id",
    } <= set(doc)
    assert doc["model"] == "gpt-4.1" and doc["profile"] == "mock" and doc["finish_reason"] == "stop"
    assert set(doc["usage"]) >= {"prompt_tokens", "completion_tokens", "cached_tokens"}
    assert Decimal(doc["cost"]["usd"]) > 0 and doc["cost"]["currency"] == "USD" and doc["cached"] is False
    assert doc["request_id"].startswith("req_") and doc["ttft_ms"] <= doc["latency_ms"]


def test_verbose_prints_a_summary_on_stderr(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "-v", "hi", env=relay_env)
    assert ran.code == 0
    assert "gpt-4.1-mini" in ran.err and "1 in / 40 out tokens" in ran.err and "TTFT" in ran.err
    assert "TTFT" not in ran.out


def test_anthropic_protocol(relay_env: dict[str, str]) -> None:
    ran = run_relay(
        "stream", "-p", "mock-anthropic", "--max-tokens", "7", "--json", "-s", "be brief", "hi", env=relay_env
    )
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    assert doc["finish_reason"] == "max_tokens" and doc["usage"]["completion_tokens"] == 7
    assert doc["text"].startswith("Mock answer to 2 messages")  # the system prompt went along
    (row,) = ledger_rows(relay_env)
    assert row["protocol"] == "anthropic" and row["completion_tokens"] == 7


def test_usage_missing_from_the_stream_is_unknown_not_zero(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "--json", "[[mock: no_usage]] hi", env=relay_env)
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    assert doc["usage"]["prompt_tokens"] is None and doc["usage"]["completion_tokens"] is None
    assert doc["cost"]["usd"] is None
    (row,) = ledger_rows(relay_env)
    assert row["prompt_tokens"] is None and row["completion_tokens"] is None and row["cost_usd"] is None
    assert row["outcome"] == "ok"


def test_keepalive_comments_are_ignored(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock-anthropic", "[[mock: ttft=0.2 keepalive=0.05]] hi", env=relay_env)
    assert ran.code == 0, ran.err
    ran = run_relay("stream", "-p", "mock", "[[mock: ttft=0.2 keepalive=0.05]] hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("Mock answer")


def test_429_with_retry_after_is_waited_for_and_retried(relay_env: dict[str, str]) -> None:
    start = time.monotonic()
    ran = run_relay("stream", "-p", "mock", "[[mock: fail=429 retry_after=0.6 fail_times=1 seed=11]] hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert time.monotonic() - start >= 0.6
    assert "429" in ran.err and "retrying in 0.6 s" in ran.err
    (row,) = ledger_rows(relay_env)
    assert row["retries"] == 1 and row["outcome"] == "ok"


def test_429_after_retries_exits_8(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "[[mock: fail=429 retry_after=0.05]] hi", env=relay_env)
    assert ran.code == 8, ran.err
    (row,) = ledger_rows(relay_env)
    assert row["retries"] == 2 and row["http_status"] == 429 and row["error_class"] == "RateLimited"


def test_error_event_inside_a_200_stream(relay_env: dict[str, str]) -> None:
    for profile in ("mock", "mock-anthropic"):
        ran = run_relay("stream", "-p", profile, "[[mock: error_after=3]] hi", env=relay_env)
        assert ran.code == 5, ran.err
        assert ran.out.startswith("Mock answer to")  # what arrived stays
        assert "relay: error:" in ran.err and "Traceback" not in ran.err
    rows = ledger_rows(relay_env)
    assert [r["error_class"] for r in rows] == ["StreamError", "StreamError"]
    assert all(r["outcome"] == "error" for r in rows)


def test_truncated_stream_exits_5_keeps_text_and_marks_the_row(relay_env: dict[str, str]) -> None:
    for profile in ("mock", "mock-anthropic"):
        ran = run_relay("stream", "-p", profile, "[[mock: stop_after=6]] hi", env=relay_env)
        assert ran.code == 5, ran.err
        assert ran.out.startswith("Mock answer to 1 messages:")
        assert "partial answer is kept" in ran.err
    rows = ledger_rows(relay_env)
    assert [r["outcome"] for r in rows] == ["truncated", "truncated"]


def test_malformed_chunk_exits_5(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "[[mock: malformed_after=2]] hi", env=relay_env)
    assert ran.code == 5 and "malformed" in ran.err


def test_html_error_pages(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "[[mock: html fail=200]] hi", env=relay_env)
    assert ran.code == 5 and "HTML" in ran.err and "<html" not in ran.err.lower()
    ran = run_relay("stream", "-p", "mock", "[[mock: html fail=502]] hi", env=relay_env)
    assert ran.code == 5 and "502" in ran.err and "<html" not in ran.err.lower()


def test_stall_times_out_within_the_configured_limit(relay_env: dict[str, str]) -> None:
    url = relay_env["RELAY_MOCK_URL"]
    read = 0.3  # three keep-alives per read window below; the bound is the limit plus the same 2.5 s slack
    write_config(
        relay_env,
        f'[profiles.slow]\nbase_url = "{url}/v1"\ntimeout = {{ read = {read} }}\nretries = 0\n'
        'default_model = "gpt-4.1"\n',
    )
    for directive in ("stall_after=3", "stall_after=3 keepalive=0.1"):
        start = time.monotonic()
        ran = run_relay("stream", "-p", "slow", f"[[mock: {directive}]] hi", env=relay_env)
        elapsed = time.monotonic() - start
        assert ran.code == 6, ran.err
        assert elapsed < read + 2.5, elapsed
        assert "timeout" in ran.err.lower() or "timed out" in ran.err.lower()
        assert ran.out.startswith("Mock answer")
    assert [r["error_class"] for r in ledger_rows(relay_env)] == ["RelayTimeout", "RelayTimeout"]


def test_wrong_key_exits_4_and_never_shows_the_key(relay_env: dict[str, str]) -> None:
    url = relay_env["RELAY_MOCK_URL"]
    write_config(
        relay_env,
        f'[profiles.keyed]\nbase_url = "{url}/v1"\napi_key_env = "KEYED_API_KEY"\n'
        'default_model = "gpt-4.1"\nheaders = { "X-Mock" = "require_key=right-key-123" }\n',
    )
    env = {**relay_env, "KEYED_API_KEY": "sk-wrong-key-987654"}
    ran = run_relay("stream", "-p", "keyed", "hi", env=env)
    assert ran.code == 4
    assert "KEYED_API_KEY" in ran.err and "keyed" in ran.err
    assert "sk-wrong-key-987654" not in ran.err + ran.out
    ran = run_relay("stream", "-p", "keyed", "hi", env={**relay_env, "KEYED_API_KEY": "right-key-123"})
    assert ran.code == 0, ran.err
    db = Path(relay_env["RELAY_HOME"], "ledger.db").read_bytes()
    assert b"sk-wrong-key-987654" not in db and b"right-key-123" not in db


def test_closed_port_exits_7(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "hi", env={**relay_env, "RELAY_MOCK_URL": "http://127.0.0.1:9"})
    assert ran.code == 7
    assert "refused" in ran.err and "127.0.0.1:9" in ran.err
    (row,) = ledger_rows(relay_env)
    assert row["error_class"] == "NetworkError"


def test_unknown_model_lists_close_names(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "-m", "gpt-4.2", "hi", env=relay_env)
    assert ran.code == 1
    assert "gpt-4.1" in ran.err and "relay models -p mock" in ran.err


def test_fallback_profile_takes_over_when_the_first_is_down(relay_env: dict[str, str]) -> None:
    write_config(
        relay_env,
        '[profiles.down]\nbase_url = "http://127.0.0.1:9/v1"\nretries = 0\n'
        'default_model = "gpt-4.1-mini"\nfallback = ["mock"]\n',
    )
    ran = run_relay("stream", "-p", "down", "--json", "hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["profile"] == "mock" and "falling back" in ran.err
    assert [r["outcome"] for r in ledger_rows(relay_env)] == ["error", "ok"]


def test_config_errors_exit_3(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "nope", "hi", env=relay_env)
    assert ran.code == 3 and "mock" in ran.err and "nope" in ran.err
    write_config(
        relay_env,
        '[profiles.x]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "NOT_SET_ANYWHERE"\ndefault_model = "m"\n',
    )
    ran = run_relay("stream", "-p", "x", "hi", env=relay_env)
    assert ran.code == 3 and "NOT_SET_ANYWHERE" in ran.err
    path = write_config(relay_env, "[profiles.x]\nbase_url = \n")
    ran = run_relay("stream", "-p", "x", "hi", env=relay_env)
    assert ran.code == 3 and str(path) in ran.err and "line 2, column" in ran.err
    assert "Traceback" not in ran.err


def test_usage_errors_exit_2(relay_env: dict[str, str]) -> None:
    assert run_relay("stream", "--no-such-flag", env=relay_env).code == 2
    ran = run_relay("stream", "-p", "mock", env=relay_env)
    assert ran.code == 2 and "no prompt" in ran.err


def test_closed_stdout_pipe_ends_quietly(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env}
    done = subprocess.run(
        f"{sys.executable} -m relaycli stream -p mock '[[mock: words=400 token_delay=0.002]] hi' | head -c 10",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "Mock answe"
    assert done.stderr == ""
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "interrupted"


def test_ctrl_c_exits_130_and_records_the_row(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "stream", "-p", "mock", "[[mock: words=500 token_delay=0.02]] hi"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    first = proc.stdout.read(5)
    assert first == b"Mock "
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "interrupted" and row["ttft_ms"] is not None


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_record_the_row_like_ctrl_c(relay_env: dict[str, str], signum: int, code: int) -> None:
    env = {**os.environ, **relay_env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "stream", "-p", "mock", "[[mock: words=500 token_delay=0.02]] hi"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stdout.read(5) == b"Mock "
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "interrupted" and row["ttft_ms"] is not None


def test_a_signal_ignored_by_the_parent_stays_ignored(relay_env: dict[str, str]) -> None:
    env = {**os.environ, **relay_env}
    done = subprocess.run(
        [
            "bash",
            "-c",
            f"trap '' HUP; {sys.executable} -m relaycli stream -p mock "
            "'[[mock: words=30 token_delay=0.01]] hi' & pid=$!; sleep 0.3; kill -HUP $pid; wait $pid",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr  # nohup-style: the answer runs to its end
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "ok"


def test_server_rejecting_stream_options_is_remembered(relay_env: dict[str, str], mock_server: object) -> None:
    url = relay_env["RELAY_MOCK_URL"]
    write_config(
        relay_env,
        f'[profiles.old]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4.1"\n'
        'headers = { "X-Mock" = "reject_stream_options" }\n',
    )
    log = mock_server.log  # type: ignore[attr-defined]
    before = len(log)
    ran = run_relay("stream", "-p", "old", "--json", "hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["usage"]["completion_tokens"] is None  # the server then sends no usage
    assert [r.status for r in log[before:]] == [400, 200]
    quirks = json.loads(Path(relay_env["RELAY_HOME"], "cache", "quirks.json").read_text())
    assert quirks["old"]["no_stream_options"] is True and quirks["old"]["base_url"] == f"{url}/v1"
    before = len(log)
    assert run_relay("stream", "--no-cache", "-p", "old", "hi", env=relay_env).code == 0
    assert [r.status for r in log[before:]] == [200]  # learned: no rejected first attempt


def test_fallback_uses_its_own_default_model_unless_one_was_asked_for(relay_env: dict[str, str]) -> None:
    write_config(
        relay_env,
        '[profiles.down]\nbase_url = "http://127.0.0.1:9/v1"\nretries = 0\n'
        'default_model = "gpt-4.1"\nfallback = ["mock-anthropic"]\n',
    )
    doc = json.loads(run_relay("stream", "-p", "down", "--json", "hi", env=relay_env).out)
    assert doc["profile"] == "mock-anthropic" and doc["model"] == "claude-haiku-4-5"
    doc = json.loads(run_relay("stream", "-p", "down", "-m", "claude-sonnet-4-5", "--json", "hi", env=relay_env).out)
    assert doc["profile"] == "mock-anthropic" and doc["model"] == "claude-sonnet-4-5"
    rows = ledger_rows(relay_env)
    assert [(r["profile"], r["model_requested"]) for r in rows] == [
        ("down", "gpt-4.1"),
        ("mock-anthropic", "claude-haiku-4-5"),
        ("down", "claude-sonnet-4-5"),
        ("mock-anthropic", "claude-sonnet-4-5"),
    ]
