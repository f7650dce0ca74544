"""`relay config show`: every value with its true source, and credentials in headers masked."""

from __future__ import annotations

import json

from tests.conftest import run_relay
from tests.integration.support import write_config


def _show(env: dict[str, str], *args: str) -> dict[str, dict[str, str]]:
    ran = run_relay("config", "show", "--json", *args, env=env)
    assert ran.code == 0, ran.err
    return {r["key"]: r for r in json.loads(ran.out)["settings"]}


def test_a_partly_adjusted_built_in_profile_shows_true_sources(relay_env: dict[str, str]) -> None:
    write_config(relay_env, "# my budget\n[profiles.mock]\nbudget = 5\n")
    rows = _show(relay_env, "-p", "mock")
    assert rows["profiles.mock.budget"]["source"] == "file line 3"
    assert rows["profiles.mock.default_model"]["source"] == "built-in"
    assert rows["profiles.mock.aliases"]["source"] == "built-in"
    assert rows["profiles.mock.protocol"]["source"] == "built-in"
    assert rows["profiles.mock.base_url"]["source"].startswith("built-in")
    assert rows["profiles.mock.retries"]["source"] == "default"
    assert rows["profiles.mock.headers"]["source"] == "default"


def test_values_in_sub_tables_name_their_line(relay_env: dict[str, str]) -> None:
    write_config(relay_env, '[profiles.a]\nbase_url = "http://127.0.0.1:9"\n\n[profiles.a.timeout]\nread = 9\n')
    rows = _show(relay_env, "-p", "a")
    assert rows["profiles.a.timeout"]["source"] == "file line 4"
    assert rows["profiles.a.protocol"]["source"] == "default"


def test_keys_in_headers_are_masked(relay_env: dict[str, str]) -> None:
    secrets = {
        "api-key": "sk-header-aaaa-1111",
        "x-api-key": "sk-header-bbbb-2222",
        "Authorization": "Bearer sk-header-cccc-3333",
        "Proxy-Authorization": "Basic dXNlcjpwYXNz-4444",
        "X-Auth-Token": "tok-header-dddd-5555",
        "X-Client-Secret": "shh-header-eeee-6666",
    }
    inline = ", ".join(f'"{k}" = "{v}"' for k, v in secrets.items())
    write_config(
        relay_env, f'[profiles.a]\nbase_url = "http://127.0.0.1:9"\nheaders = {{ {inline}, "X-Team" = "search" }}\n'
    )
    ran = run_relay("config", "show", "-p", "a", env=relay_env)
    assert ran.code == 0, ran.err
    ran_json = run_relay("config", "show", "--json", env=relay_env)
    for value in secrets.values():
        assert value not in ran.out and value not in ran_json.out
        assert value[:-4] not in ran.out
    assert "search" in ran.out and "****1111" in ran.out
