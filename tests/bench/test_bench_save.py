"""`relay bench --save FILE`: only its owner may read it, also when it existed with looser bits."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import run_relay


@pytest.mark.skipif(not hasattr(stat, "S_IRWXO"), reason="POSIX permissions")
def test_saved_runs_are_private(relay_env: dict[str, str], tmp_path: Path) -> None:
    fresh, existing = tmp_path / "fresh.json", tmp_path / "existing.json"
    existing.write_text("{}")
    existing.chmod(0o644)
    for path in (fresh, existing):
        ran = run_relay("bench", "-p", "mock", "-n", "2", "--save", str(path), "--json", env=relay_env)
        assert ran.code == 0, ran.err
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert json.loads(path.read_text())["records"]


def test_a_save_that_cannot_be_written_is_a_warning_and_exit_1(relay_env: dict[str, str], tmp_path: Path) -> None:
    ran = run_relay(
        "bench", "-p", "mock", "-n", "2", "--save", str(tmp_path / "no" / "such" / "dir.json"), "--json", env=relay_env
    )
    assert ran.code == 1 and "--save" in ran.err and "internal error" not in ran.err
    assert json.loads(ran.out)["targets"][0]["ok"] == 2  # the results are still printed
