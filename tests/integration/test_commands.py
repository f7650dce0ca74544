"""`relay models`, `config`, `log` and `demo` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_relay

from .support import ledger_rows, write_config


def test_models_json_for_both_protocols(relay_env: dict[str, str]) -> None:
    for profile in ("mock", "mock-anthropic"):
        ran = run_relay("models", "-p", profile, "--json", env=relay_env)
        assert ran.code == 0, ran.err
        doc = json.loads(ran.out)
        assert doc["profile"] == profile
        by_id = {m["id"]: m for m in doc["models"]}
        assert {"gpt-4.1", "claude-sonnet-4-5", "mock-unpriced"} <= set(by_id)
        assert by_id["gpt-4.1"]["price"]["input"] == "2" and by_id["gpt-4.1"]["price"]["output"] == "8"
        assert by_id["mock-unpriced"]["price"] is None
    assert by_id["gpt-4.1"]["aliases"] == []
    ran = run_relay("models", "-p", "mock", "--json", env=relay_env)
    assert {m["id"]: m for m in json.loads(ran.out)["models"]}["gpt-4.1"]["aliases"] == ["smart"]


def test_models_search_and_table(relay_env: dict[str, str]) -> None:
    ran = run_relay("models", "-p", "mock", "--search", "CLAUDE", "--json", env=relay_env)
    assert [m["id"] for m in json.loads(ran.out)["models"]] == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    ran = run_relay("models", "-p", "mock", "--search", "smart", env=relay_env)
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert lines[0].split("\t")[0] == "model" and lines[1].split("\t")[:2] == ["gpt-4.1", "smart"]


def test_models_records_nothing_but_fails_cleanly_when_down(relay_env: dict[str, str]) -> None:
    ran = run_relay("models", "-p", "mock", env={**relay_env, "RELAY_MOCK_URL": "http://127.0.0.1:9"})
    assert ran.code == 7 and "refused" in ran.err


def test_config_init_show_set_paths_profiles(relay_env: dict[str, str]) -> None:
    home = Path(relay_env["RELAY_HOME"])
    ran = run_relay("config", "init", env=relay_env)
    assert ran.code == 0 and (home / "config.toml").exists()
    assert run_relay("config", "init", env=relay_env).code == 3
    env = {**relay_env, "RELAY_API_KEY": "sk-test-abcdefghijkl-9876"}
    ran = run_relay("config", "show", "--json", env=env)
    assert ran.code == 0, ran.err
    settings = {r["key"]: r for r in json.loads(ran.out)["settings"]}
    assert settings["profiles.relay.key"]["value"] == "****9876 (env RELAY_API_KEY)"
    assert settings["profiles.relay.retries"]["source"].startswith("file line")
    assert settings["profiles.mock.base_url"]["source"].startswith("built-in")
    ran = run_relay("config", "show", env=env)
    assert "sk-test-abcdefghijkl-9876" not in ran.out + ran.err
    assert run_relay("config", "set", "profiles.relay.retries", "4", env=env).code == 0
    ran = run_relay("config", "set", "profiles.relay.protocol", "grpc", env=env)
    assert ran.code == 3 and "protocol" in ran.err
    paths = json.loads(run_relay("config", "paths", "--json", env=env).out)
    assert paths["config"] == str(home / "config.toml") and paths["ledger"] == str(home / "ledger.db")
    names = run_relay("config", "profiles", "--names", env=env).out.split()
    assert names == ["anthropic", "mock", "mock-anthropic", "relay"]
    profiles = json.loads(run_relay("config", "profiles", "--json", env=env).out)["profiles"]
    assert [p["name"] for p in profiles if p["default"]] == ["relay"]


def test_default_profile_and_env_precedence(relay_env: dict[str, str]) -> None:
    url = relay_env["RELAY_MOCK_URL"]
    write_config(
        relay_env,
        f'default_profile = "local"\n[profiles.local]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4o-mini"\n',
    )
    assert json.loads(run_relay("stream", "--json", "hi", env=relay_env).out)["model"] == "gpt-4o-mini"
    doc = json.loads(
        run_relay("stream", "--json", "hi", env={**relay_env, "RELAY_PROFILE": "mock", "RELAY_MODEL": "gpt-4.1"}).out
    )
    assert doc["profile"] == "mock" and doc["model"] == "gpt-4.1"
    doc = json.loads(
        run_relay("stream", "--json", "-m", "o4-mini", "hi", env={**relay_env, "RELAY_MODEL": "gpt-4.1"}).out
    )
    assert doc["model"] == "o4-mini" and doc["profile"] == "local"


def test_log_on_an_empty_home(relay_env: dict[str, str]) -> None:
    ran = run_relay("log", env=relay_env)
    assert ran.code == 0 and "no requests recorded yet" in ran.err
    assert ledger_rows(relay_env) == []


def test_demo_runs_end_to_end(relay_env: dict[str, str]) -> None:
    ran = run_relay("demo", "--fast", env=relay_env, timeout=120)
    assert ran.code == 0, ran.out + ran.err
    for text in (
        "$ relay config profiles",
        "$ relay models -p mock",
        "Did you mean",
        "(exit 5, as expected)",
        "$ relay log",
        "That's relay",
    ):
        assert text in ran.out + ran.err
    assert not Path(relay_env["RELAY_HOME"], "ledger.db").exists()  # the demo used its own home
