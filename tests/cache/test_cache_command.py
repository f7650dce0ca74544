"""``relay cache`` as a user runs it: stats, list, prune, clear and path, against a real cache filled by
real ``relay stream`` requests to the local relay."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_relay
from tests.integration.support import ledger_rows, write_config


def cache_file(env: dict[str, str]) -> Path:
    return Path(env["RELAY_HOME"]) / "cache" / "cache.db"


def stats(env: dict[str, str]) -> dict[str, object]:
    ran = run_relay("cache", "stats", "--json", env=env)
    assert ran.code == 0, ran.err
    return json.loads(ran.out)


def test_stats_of_no_cache_yet_are_zero_and_create_nothing(relay_env: dict[str, str]) -> None:
    doc = stats(relay_env)
    assert (doc["entries"], doc["hits"], doc["misses"], doc["hit_rate"], doc["saved_usd"]) == (0, 0, 0, None, "0")
    assert not cache_file(relay_env).exists()
    ran = run_relay("cache", "path", env=relay_env)
    assert ran.out.strip() == str(cache_file(relay_env))
    ran = run_relay("cache", "list", env=relay_env)
    assert ran.code == 0 and ran.out == "" and "holds no answers" in ran.err


def test_stats_count_a_miss_a_hit_and_what_the_hit_saved(relay_env: dict[str, str]) -> None:
    for _ in range(2):
        assert run_relay("stream", "-p", "mock", "what is a relay?", env=relay_env).code == 0
    first, second = ledger_rows(relay_env)
    doc = stats(relay_env)
    assert (doc["entries"], doc["hits"], doc["misses"], doc["hit_rate"]) == (1, 1, 1, 0.5)
    assert Decimal(str(doc["saved_usd"])) == Decimal(first["cost_usd"]) > 0  # the price did not change
    assert doc["saved_billed"] == {"USD": first["cost_billed"]}
    assert second["cached"] and Decimal(second["cost_usd"]) == 0
    assert doc["size_bytes"] == cache_file(relay_env).stat().st_size + _wal(relay_env)
    text = run_relay("cache", "stats", env=relay_env).out
    assert "1 of 2 lookups (50.0 %)" in text and "entries  1 " in text


def _wal(env: dict[str, str]) -> int:
    wal = cache_file(env).with_name("cache.db-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_list_hides_prompts_unless_asked(relay_env: dict[str, str]) -> None:
    secret = "the merger with Initech closes on Friday"
    assert run_relay("stream", "-p", "mock", "-s", "be brief", secret, env=relay_env).code == 0
    plain = run_relay("cache", "list", env=relay_env)
    listed = run_relay("cache", "list", "--json", env=relay_env)
    assert secret not in plain.out + plain.err and secret not in listed.out
    (entry,) = json.loads(listed.out)["entries"]
    assert entry["profile"] == "mock" and entry["model"] == "gpt-4.1-mini" and "prompt" not in entry
    assert len(entry["key"]) == 64 and entry["hits"] == 0 and entry["finish_reason"] == "stop"
    shown = json.loads(run_relay("cache", "list", "--json", "--show-prompts", env=relay_env).out)
    assert shown["entries"][0]["prompt"] == {"system": "be brief", "messages": [{"role": "user", "content": secret}]}
    assert secret in run_relay("cache", "list", "--show-prompts", env=relay_env).out
    other = json.loads(run_relay("cache", "list", "--json", "-p", "mock-anthropic", env=relay_env).out)
    assert other["entries"] == []


def test_clear_by_profile_and_age_then_all(relay_env: dict[str, str]) -> None:
    assert run_relay("stream", "-p", "mock", "one", env=relay_env).code == 0
    assert run_relay("stream", "-p", "mock-anthropic", "two", env=relay_env).code == 0
    ran = run_relay("cache", "clear", "--older-than", "1h", "--json", env=relay_env)
    assert json.loads(ran.out)["removed"] == 0
    ran = run_relay("cache", "clear", "-p", "mock-anthropic", "--json", env=relay_env)
    assert json.loads(ran.out)["removed"] == 1
    assert [e["profile"] for e in json.loads(run_relay("cache", "list", "--json", env=relay_env).out)["entries"]] == [
        "mock"
    ]
    ran = run_relay("cache", "clear", env=relay_env)
    assert ran.code == 0 and ran.out.startswith("removed 1 entry")
    assert stats(relay_env)["entries"] == 0
    bad = run_relay("cache", "clear", "--older-than", "soon", env=relay_env)
    assert bad.code == 2 and "duration" in bad.err


def test_prune_removes_expired_entries(relay_env: dict[str, str]) -> None:
    write_config(relay_env, "[cache]\nttl = 1\n")
    assert run_relay("stream", "-p", "mock", "short-lived", env=relay_env).code == 0
    assert json.loads(run_relay("cache", "prune", "--json", env=relay_env).out)["removed"] == 0
    time.sleep(1.1)
    assert json.loads(run_relay("cache", "prune", "--json", env=relay_env).out)["removed"] == 1
    assert stats(relay_env)["entries"] == 0


def test_a_damaged_file_is_an_error_for_stats_and_removed_by_clear(relay_env: dict[str, str]) -> None:
    path = cache_file(relay_env)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 4096)
    ran = run_relay("cache", "stats", env=relay_env)
    assert ran.code == 1 and "damaged" in ran.err and "relay cache clear" in ran.err and "Traceback" not in ran.err
    ran = run_relay("cache", "clear", env=relay_env)
    assert ran.code == 0 and "removed it" in ran.err and not path.exists()
    assert run_relay("stream", "-p", "mock", "fresh start", env=relay_env).code == 0
    assert stats(relay_env)["entries"] == 1


def test_param_option_is_checked(relay_env: dict[str, str]) -> None:
    ran = run_relay("stream", "-p", "mock", "-o", "model=gpt-4.1", "hi", env=relay_env)
    assert ran.code == 2 and "set by relay itself" in ran.err
    ran = run_relay("stream", "-p", "mock", "-o", "no-equals-sign", "hi", env=relay_env)
    assert ran.code == 2 and "NAME=VALUE" in ran.err
    ran = run_relay("stream", "--no-cache", "--cache-only", "-p", "mock", "hi", env=relay_env)
    assert ran.code == 2 and "choose one of" in ran.err
