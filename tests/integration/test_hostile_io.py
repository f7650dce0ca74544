"""Output that cannot be written and files that are not what they should be: clear errors with their
documented exit codes, never "internal error"."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_relay

from .support import ledger_rows


def _relay(shell: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        f"{sys.executable} -m relaycli {shell}",
        shell=True,
        executable="/bin/bash",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_full_stdout_is_an_error_not_an_internal_error(relay_env: dict[str, str]) -> None:
    for flags in ("", "--json"):
        done = _relay(f"stream -p mock {flags} hi > /dev/full", relay_env)
        assert done.returncode == 1, done.stderr
        assert "cannot write to stdout" in done.stderr and "internal error" not in done.stderr
    outcomes = [row["outcome"] for row in ledger_rows(relay_env)]
    assert outcomes[0] == "error"  # text: the answer could not be shown
    assert len(outcomes) == 2  # --json: the request itself succeeded (its row says so); the write failed


def test_closed_stdout_or_stderr_at_start(relay_env: dict[str, str]) -> None:
    assert _relay("stream -p mock hi >/dev/null 2>&-", relay_env).returncode == 0
    assert _relay("stream -p mock hi >&-", relay_env).returncode == 0
    done = _relay("--version >&-", relay_env)
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert _relay("stream --bogus 2>/dev/full", relay_env).returncode == 2  # a usage error stays 2


def test_a_config_that_is_not_a_regular_file(relay_env: dict[str, str]) -> None:
    for device in ("/dev/zero", "/dev/full"):
        ran = run_relay("config", "show", env={**relay_env, "RELAY_CONFIG": device})
        assert ran.code == 3 and "not a regular file" in ran.err, ran.err
        ran = run_relay("config", "set", "profiles.mock.retries", "3", env={**relay_env, "RELAY_CONFIG": device})
        assert ran.code == 3 and "not a regular file" in ran.err, ran.err


def test_an_unwritable_ledger_keeps_the_known_cost(relay_env: dict[str, str]) -> None:
    import json

    home = Path(relay_env["RELAY_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "ledger.db").mkdir()
    ran = run_relay("stream", "-p", "mock", "--json", "hi", env=relay_env)
    assert ran.code == 0 and "usage not recorded: cannot" in ran.err, ran.err
    assert json.loads(ran.out)["cost"]["usd"] is not None  # priced, whether or not the row could be written


def test_the_cache_directory_and_learned_quirks_are_tightened_when_read(relay_env: dict[str, str]) -> None:
    home = Path(relay_env["RELAY_HOME"])
    cache = home / "cache"
    cache.mkdir(parents=True)
    (cache / "quirks.json").write_text("{}")
    os.chmod(cache, 0o755)
    os.chmod(cache / "quirks.json", 0o644)
    assert run_relay("stream", "-p", "mock", "hi", env=relay_env).code == 0
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert stat.S_IMODE((cache / "quirks.json").stat().st_mode) == 0o600


def test_a_huge_bench_duration_is_refused(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-p", "mock", "--duration", "1e300", "--rate", "1", "-n", "1", env=relay_env)
    assert ran.code == 2 and "internal error" not in ran.err, ran.err
