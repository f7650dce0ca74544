"""`relay ping` and `relay bench` time the direct path: they say so when the environment names a proxy."""

from __future__ import annotations

from tests.conftest import run_relay


def test_ping_warns_that_it_ignores_the_proxy(relay_env: dict[str, str]) -> None:
    proxy = "http://127.0.0.1:9"
    env = {**relay_env, "HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
    ran = run_relay("ping", "-p", "mock", env=env)
    assert ran.code == 0, ran.err
    assert "directly, not through the proxy http://127.0.0.1:9" in ran.err
    names = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
    no_proxy = dict.fromkeys(names, "")
    ran = run_relay("ping", "-p", "mock", env={**relay_env, **no_proxy})
    assert "proxy" not in ran.err
