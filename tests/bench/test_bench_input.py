"""`relay bench` on bad or unusual input: the documented exit code and a clear message, never an internal
error; a reader that goes away early; no warm-up at all."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from relaycli.bench.limits import RESERVED_FDS, concurrency_for
from relaycli.errors import UsageError
from tests.conftest import RELAY_VARS, run_relay


@pytest.mark.parametrize("args", [["--rate", "nan"], ["--rate", "inf"], ["--duration", "inf"], ["--duration", "nan"]])
def test_non_finite_numbers_are_usage_errors(relay_env: dict[str, str], args: list[str]) -> None:
    ran = run_relay("bench", "-p", "mock", "-n", "2", *args, env=relay_env)
    assert ran.code == 2, ran.err
    assert "finite number" in ran.err or "not in the range" in ran.err, ran.err
    assert "internal error" not in ran.err


def test_more_connections_than_open_files_allowed_is_refused_up_front(relay_env: dict[str, str]) -> None:
    resource = pytest.importorskip("resource")
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        pytest.skip("no open-file limit")
    ran = run_relay("bench", "-p", "mock", "-n", "2", "-c", str(soft + 1), env=relay_env, timeout=20)
    assert ran.code == 2, ran.err
    assert "ulimit -n" in ran.err and "internal error" not in ran.err


def test_concurrency_fits_the_open_file_limit() -> None:
    limit = 100 + RESERVED_FDS
    assert concurrency_for(None, rate=None, targets=2, limit=lambda: limit) == 1
    assert concurrency_for(None, rate=5.0, targets=2, limit=lambda: limit) == 50  # a default is lowered
    assert concurrency_for(50, rate=None, targets=2, limit=lambda: limit) == 50
    assert concurrency_for(10**6, rate=None, targets=1, limit=lambda: None) == 10**6
    with pytest.raises(UsageError, match="-c 50 or less"):
        concurrency_for(51, rate=None, targets=2, limit=lambda: limit)


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_a_reader_that_goes_away_ends_quietly_with_0(
    relay_env: dict[str, str], isolated: object, fmt: list[str]
) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in RELAY_VARS} | relay_env
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "bench", "-p", "mock", "-n", "4", *fmt],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # `| head -0`: nobody reads what it prints
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert "error" not in err.decode() and "Traceback" not in err.decode()  # a busy-loop warning may show
    log = json.loads(run_relay("log", "--json", env=relay_env).out)["rows"]
    assert len(log) == 5 and {r["command"] for r in log} == {"bench"}  # the requests are still recorded


def test_no_warmup(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-p", "mock", "-n", "3", "--warmup", "0", "--json", "--raw", env=relay_env)
    assert ran.code == 0, ran.err
    doc = json.loads(ran.out)
    assert doc["config"]["warmup"] == 0 and len(doc["records"]) == 3
    assert not any(r["warmup"] for r in doc["records"]) and doc["targets"][0]["ok"] == 3
