"""`relay bench --compare OLD NEW` warns, naming each setting, when the two runs were made under different
load (concurrency, rate, max_tokens, prompts, n), and stays quiet when they match."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_relay


def save(env: dict[str, str], path: Path, *args: str) -> None:
    ran = run_relay("bench", "-p", "mock", "--save", str(path), "--json", *args, env=env)
    assert ran.code == 0, ran.err


def test_different_load_settings_are_named(relay_env: dict[str, str], tmp_path: Path) -> None:
    old, new, same = tmp_path / "old.json", tmp_path / "new.json", tmp_path / "same.json"
    save(relay_env, old, "-n", "4")
    save(relay_env, new, "-n", "6", "-c", "2", "--max-tokens", "32", "--prompt", "one")
    save(relay_env, same, "-n", "4")
    ran = run_relay("bench", "--compare", str(old), str(new), env=relay_env)
    assert ran.code == 0, ran.err
    (line,) = [line for line in ran.err.splitlines() if "different load settings" in line]
    for part in ("concurrency 1 vs 2", "n 4 vs 6", "max_tokens 64 vs 32", "prompts 8 vs 1"):
        assert part in line, line
    assert "rate" not in line
    doc = json.loads(run_relay("bench", "--compare", str(old), str(new), "--json", env=relay_env).out)
    assert doc["warnings"] and "concurrency 1 vs 2" in doc["warnings"][0]
    quiet = run_relay("bench", "--compare", str(old), str(same), env=relay_env)
    assert quiet.code == 0 and "different load settings" not in quiet.err
