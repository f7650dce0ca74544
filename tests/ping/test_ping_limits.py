"""`relay ping` and `relay config show` show each profile's limits and circuit as they are now, and
`relay ping -p NAME --reset` closes a circuit and clears a pause."""

from __future__ import annotations

import json
import re
from pathlib import Path

from relaycli.config.profile import Profile
from relaycli.limits.guard import SharedGuard
from tests.conftest import run_relay
from tests.integration.support import write_config

CONTRACT = {"profile", "ok", "status", "auth", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "total_ms", "models"}


def configure(env: dict[str, str]) -> None:
    write_config(
        env,
        f"""
[profiles.lim]
base_url = "{env["RELAY_MOCK_URL"]}/v1"
default_model = "gpt-4.1-mini"
limits = {{ rpm = 6, burst = 10, tpm = 100000, max_in_flight = 4 }}
breaker = {{ failures = 3, cooldown = 20 }}

[profiles.plain]
base_url = "{env["RELAY_MOCK_URL"]}/v1"
breaker = false
""",
    )


def pause(env: dict[str, str], name: str, seconds: int) -> None:
    """A 429 another relay process saw, asking everyone to wait."""
    guard = SharedGuard(Path(env["RELAY_HOME"]) / "cache" / "limits.db", warn=print)
    guard.observe(Profile(name=name, base_url="http://127.0.0.1:9/v1"), 429, {"retry-after": str(seconds)})
    guard.close()


def test_ping_json_has_the_limits_and_the_breaker(relay_env: dict[str, str]) -> None:
    configure(relay_env)
    assert run_relay("stream", "-p", "lim", "--no-cache", "hi", env=relay_env).code == 0
    pause(relay_env, "lim", 300)
    ran = run_relay("ping", "-p", "lim", "-p", "plain", "--json", env=relay_env)
    assert ran.code == 0, ran.err
    lim, plain = json.loads(ran.out)["results"]
    assert set(lim) >= CONTRACT | {"error", "limits", "breaker"}
    limits = lim["limits"]
    assert (limits["rpm"], limits["tpm"], limits["max_in_flight"], limits["burst"]) == (6, 100000, 4, 10)
    assert 9 <= limits["rpm_left"] < 10  # one request taken, refilling at 0.1 a second
    assert limits["tpm_left"] <= 100000 and limits["in_flight"] == 0  # tokens refill at 1,667 a second
    assert 295 < limits["paused_s"] <= 300 and limits["pause_reason"] == "the pause a 429 asked for"
    assert lim["breaker"] == {
        "enabled": True,
        "failures": 3,
        "cooldown": 20,
        "ratio": None,
        "min_requests": None,
        "window": None,
        "state": "closed",
        "consecutive_failures": 0,
        "since": None,
        "next_probe_s": None,
        "last_error": None,
    }
    assert plain["limits"]["rpm"] is None and plain["limits"]["paused_s"] is None
    assert plain["breaker"]["enabled"] is False and plain["breaker"]["state"] is None

    table = run_relay("ping", "-p", "lim", "-p", "plain", env=relay_env)
    header, first, second = table.out.splitlines()
    columns = header.split("\t")
    assert columns[-3:] == ["limits", "circuit", "error"]
    lim_row = dict(zip(columns, first.split("\t"), strict=True))
    assert lim_row["limits"].startswith("rpm 6/min, burst 10 (9.")
    assert re.search(r", paused [45]\.\d min \(the pause a 429 asked for\)$", lim_row["limits"]), lim_row
    assert lim_row["circuit"] == "closed"
    plain_row = dict(zip(columns, second.split("\t"), strict=True))
    assert (plain_row["limits"], plain_row["circuit"]) == ("none", "off (breaker = false)")

    reset = run_relay("ping", "-p", "lim", "--reset", "--json", env=relay_env)
    assert reset.err == "relay: profile 'lim': circuit closed and pause cleared\n"
    assert json.loads(reset.out)["results"][0]["limits"]["paused_s"] is None
    # the pause is gone for every process: a request goes at once
    assert run_relay("stream", "-p", "lim", "--no-cache", "again", env=relay_env).err == ""


def test_reset_needs_a_profile(relay_env: dict[str, str]) -> None:
    ran = run_relay("ping", "--reset", env=relay_env)
    assert ran.code == 2 and "--reset needs -p NAME" in ran.err


def test_config_show_has_the_limits_what_is_left_and_the_circuit(relay_env: dict[str, str]) -> None:
    configure(relay_env)
    ran = run_relay("config", "show", "-p", "lim", "--json", env=relay_env)
    assert ran.code == 0, ran.err
    rows = {r["key"]: (r["value"], r["source"]) for r in json.loads(ran.out)["settings"]}
    assert rows["profiles.lim.limits"] == ("{ rpm = 6, tpm = 100000, max_in_flight = 4, burst = 10 }", "file line 5")
    assert rows["profiles.lim.breaker"] == ("{ failures = 3, cooldown = 20 }", "file line 6")
    assert rows["profiles.lim.limits.left"] == (
        "rpm 6/min, burst 10 (10.0 left), tpm 100000/min (100,000 left), in flight 0 of 4",
        "limits.db now",
    )
    assert rows["profiles.lim.circuit"] == (
        "closed (opens after 3 failures in a row, 20 s cooldown)",
        "limits.db now",
    )
    assert not (Path(relay_env["RELAY_HOME"]) / "cache" / "limits.db").exists()  # a look creates nothing
    plain = run_relay("config", "show", "-p", "plain", env=relay_env)
    assert "profiles.plain.breaker\tfalse\tfile line" in plain.out
    assert "profiles.plain.limits\tnone\tdefault" in plain.out
    assert "profiles.plain.circuit\toff (breaker = false)\tlimits.db now" in plain.out
