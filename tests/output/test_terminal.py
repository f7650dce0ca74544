"""`relay log` in a real pseudo-terminal at 80 columns: nothing broken; piped, the same rows as TSV."""

from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import RELAY_VARS, run_relay
from tests.output.support import assert_fits, assert_whole, screen_lines

pexpect = pytest.importorskip("pexpect")


def test_log_at_80_columns_in_a_terminal(relay_env: dict[str, str]) -> None:
    assert run_relay("stream", "-p", "mock", "-m", "gpt-4.1-mini", "hi", env=relay_env).code == 0
    assert run_relay("stream", "-p", "mock-anthropic", "-m", "claude-sonnet-4-5", "hi", env=relay_env).code == 0
    piped = run_relay("log", env=relay_env)
    header, *rows = [line.split("\t") for line in piped.out.splitlines()]
    assert header[:4] == ["time (UTC)", "command", "profile", "model"] and len(header) == 11 and len(rows) == 2

    env = {k: v for k, v in os.environ.items() if k not in RELAY_VARS}
    env.update(relay_env, TERM="xterm-256color", COLUMNS="80", PYTHONUNBUFFERED="1")
    child = pexpect.spawn(
        sys.executable, ["-m", "relaycli", "log"], env=env, encoding="utf-8", timeout=20, dimensions=(24, 80)
    )
    child.expect(pexpect.EOF)
    lines = screen_lines(child.before.replace("\r", ""))
    assert_fits(lines, 80)
    assert_whole(lines, [dict(zip(header, row, strict=True)) for row in rows], keep=["time (UTC)", "profile", "model"])
    assert "columns left out to fit 80 columns" in child.before
