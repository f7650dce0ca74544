"""The bash completion offers values where values are expected: profile names after -p, model names
after -m (aliases and the price table, without a request), the --by keys (comma-combined) and the
setting keys of `relay config set`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RELAY_VARS, run_relay

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """\
default_profile = "work"

[profiles.work]
base_url = "https://relay.example.com/v1"

[profiles.work.aliases]
smartest = "claude-sonnet-4-20250514"

[profiles.home]
base_url = "http://127.0.0.1:9/v1"

[prices."house-model"]
input = 1
output = 2
"""


@pytest.fixture
def shell_env(tmp_path: Path, isolated: Path) -> dict[str, str]:
    isolated.mkdir(parents=True, exist_ok=True)
    (isolated / "config.toml").write_text(CONFIG)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "relay"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m relaycli "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in RELAY_VARS}
    env.update(RELAY_HOME=str(isolated), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return env


def complete(env: dict[str, str], *words: str) -> list[str]:
    """What `_relay` offers for the last of ``words`` (the word being typed)."""
    quoted = " ".join(f"'{w}'" for w in ("relay", *words))
    probe = f"""source {ROOT / "completions" / "relay.bash"}
COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; _relay; printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def test_profiles_after_p(shell_env: dict[str, str]) -> None:
    assert set(complete(shell_env, "stream", "-p", "")) >= {"work", "home", "mock", "mock-anthropic"}
    assert complete(shell_env, "ping", "--profile", "wo") == ["work"]


def test_models_after_m(shell_env: dict[str, str]) -> None:
    assert complete(shell_env, "stream", "-m", "smarte") == ["smartest"]
    assert complete(shell_env, "chat", "--model", "house-") == ["house-model"]
    assert "gpt-4.1-mini" in complete(shell_env, "cost", "-m", "gpt-4.1-m")
    assert complete(shell_env, "stream", "-p", "home", "-m", "smarte") == []  # that profile's aliases only


def test_by_keys_combine_with_commas(shell_env: dict[str, str]) -> None:
    assert complete(shell_env, "cost", "--by", "") == ["day", "month", "model", "profile", "tag", "user", "machine"]
    assert complete(shell_env, "cost", "--by", "month,m") == ["month,model", "month,machine"]  # month is taken
    assert complete(shell_env, "cost", "--by", "day,") == [
        "day,model",
        "day,profile",
        "day,tag",
        "day,user",
        "day,machine",
    ]  # not day and month
    assert complete(shell_env, "cost", "--by", "model,") == [
        "model,day",
        "model,month",
        "model,profile",
        "model,tag",
        "model,user",
        "model,machine",
    ]


def test_setting_keys_for_config_set(shell_env: dict[str, str]) -> None:
    offered = complete(shell_env, "config", "set", "")
    assert {
        "default_profile",
        "profiles.work.base_url",
        "profiles.home.timeout.read",
        "profiles.mock.billing.per_usd",
    } <= set(offered)
    assert complete(shell_env, "config", "set", "profiles.work.time") == [
        "profiles.work.timeout.connect",
        "profiles.work.timeout.read",
        "profiles.work.timeout.total",
    ]
    assert "default_profile" not in complete(shell_env, "config", "set", "default_profile", "")  # a value


def test_model_names_offline_need_no_endpoint(shell_env: dict[str, str]) -> None:
    ran = run_relay("models", "--names", "--offline", env=shell_env)
    names = ran.out.splitlines()
    assert ran.code == 0 and {"smartest", "smart", "house-model", "gpt-4.1"} <= set(names)
    assert names.index("smartest") < names.index("house-model") < names.index("gpt-4.1")  # aliases first
    ran = run_relay("models", "--names", "--offline", "-p", "work", "--search", "smar", env=shell_env)
    assert ran.out.splitlines() == ["smartest"]
    assert run_relay("models", "--offline", env=shell_env).code == 2


@pytest.mark.parametrize("args", [["models", "--names", "--offline"], ["config", "profiles", "--names"]])
def test_what_completion_runs_imports_nothing_heavy(tmp_path: Path, args: list[str]) -> None:
    from tests.test_startup import heavy, imported

    modules = imported(tmp_path, *args)
    assert (
        heavy(
            modules, "httpx", "httpcore", "sqlite3", "_sqlite3", "rich", "tomli_w", "relaycli.core", "relaycli.ledger"
        )
        == []
    )
