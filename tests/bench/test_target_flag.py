"""`relay bench -T/--target PROFILE:MODEL`; `-t` (the temperature in stream and chat) still works for one
release, hidden from the help, with a deprecation warning."""

from __future__ import annotations

import json

from tests.conftest import run_relay


def test_capital_t_is_the_target(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-T", "mock:gpt-4.1", "--target", "mock:gpt-4.1-mini", "-n", "2", "--json", env=relay_env)
    assert ran.code == 0, ran.err
    assert [t["model"] for t in json.loads(ran.out)["targets"]] == ["gpt-4.1", "gpt-4.1-mini"]
    assert "deprecated" not in ran.err


def test_lower_t_is_a_deprecated_alias(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-t", "mock:gpt-4.1", "-n", "2", "--json", env=relay_env)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["targets"][0]["model"] == "gpt-4.1"
    assert "relay: warning: -t is deprecated in relay bench" in ran.err and "-T/--target" in ran.err
    shown = run_relay("bench", "--help", env={**relay_env, "COLUMNS": "200"}).out
    assert "-T, --target" in shown and "-t," not in shown
