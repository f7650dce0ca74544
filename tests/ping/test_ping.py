"""`relay ping` in a subprocess: timings, auth, model counts, --count, --chat, --json, and the exit code and
one-line reason of each failure (closed port, wrong key, missing key, unresolvable host, timeout, TLS)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from relaycli.ledger import Ledger
from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer
from tests.bench.support import TLSServer
from tests.conftest import Ran, run_relay
from tests.integration.support import write_config


@pytest.fixture(scope="module")
def keyed() -> Iterator[MockServer]:
    with MockServer(options=MockOptions(require_key="sk-right")) as server:
        yield server


@pytest.fixture
def env(relay_env: dict[str, str], keyed: MockServer) -> dict[str, str]:
    mock = relay_env["RELAY_MOCK_URL"]
    write_config(
        relay_env,
        f"""
[profiles.good]
base_url = "{mock}/v1"
default_model = "gpt-4.1"

[profiles.claude]
base_url = "{mock}"
protocol = "anthropic"
default_model = "claude-haiku-4-5"

[profiles.wrongkey]
base_url = "{keyed.url}/v1"
api_key_env = "PING_TEST_KEY"

[profiles.nokey]
base_url = "{keyed.url}/v1"
api_key_env = "PING_TEST_MISSING_KEY"

[profiles.closed]
base_url = "http://127.0.0.1:1/v1"

[profiles.nowhere]
base_url = "http://nonexistent.invalid/v1"
""",
    )
    return {**relay_env, "PING_TEST_KEY": "sk-wrong"}


def ping(env: dict[str, str], *args: str) -> Ran:
    return run_relay("ping", *args, env=env)


def one_line_error(ran: Ran, *needles: str) -> None:
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("relay: error: "), ran.err
    assert all(n in lines[0] for n in needles), lines[0]


def test_a_healthy_profile(env: dict[str, str]) -> None:
    ran = ping(env, "-p", "good", "-p", "claude", "--json")
    assert ran.code == 0 and ran.err == ""
    results = json.loads(ran.out)["results"]
    assert [r["profile"] for r in results] == ["good", "claude"]
    for r in results:
        assert set(r) >= {
            "profile",
            "ok",
            "status",
            "auth",
            "dns_ms",
            "connect_ms",
            "tls_ms",
            "ttfb_ms",
            "total_ms",
            "models",
            "error",
        }
        assert (r["ok"], r["status"], r["auth"], r["models"], r["error"], r["tls_ms"]) == (
            True,
            200,
            "ok",
            8,
            None,
            None,
        )
        assert r["dns_ms"] >= 0 and r["connect_ms"] > 0 and 0 < r["ttfb_ms"] < r["total_ms"]
    table = ping(env, "-p", "good")
    assert table.code == 0 and table.out.splitlines()[0].split("\t")[:6] == [
        "profile",
        "host",
        "status",
        "auth",
        "key",
        "models",
    ]
    assert table.out.splitlines()[1].split("\t")[2:6] == ["200", "ok", "none", "8"]


def test_closed_port_is_exit_7(env: dict[str, str]) -> None:
    ran = ping(env, "-p", "closed")
    assert ran.code == 7
    one_line_error(ran, "connection refused by 127.0.0.1:1", "profile 'closed'")


def test_wrong_key_is_exit_4(env: dict[str, str]) -> None:
    ran = ping(env, "-p", "wrongkey", "--json")
    assert ran.code == 4
    (r,) = json.loads(ran.out)["results"]
    assert (r["status"], r["auth"], r["key_source"], r["ok"]) == (401, "rejected", "env PING_TEST_KEY", False)
    one_line_error(ran, "HTTP 401", "rejected the API key", "env PING_TEST_KEY")
    assert "sk-wrong" not in ran.out + ran.err


def test_non_resolving_host_is_exit_7(env: dict[str, str]) -> None:
    ran = ping(env, "-p", "nowhere")
    assert ran.code == 7
    one_line_error(ran, "cannot resolve host nonexistent.invalid", "profile 'nowhere'")


def test_missing_key_is_exit_3(env: dict[str, str]) -> None:
    ran = ping(env, "-p", "nokey", "--json")
    assert ran.code == 3
    (r,) = json.loads(ran.out)["results"]
    assert r["auth"] == "missing" and r["key_source"] == "env PING_TEST_MISSING_KEY (missing)"
    one_line_error(ran, "PING_TEST_MISSING_KEY")


def test_the_first_failure_sets_the_exit_code(env: dict[str, str]) -> None:
    assert ping(env, "-p", "good", "-p", "closed", "-p", "wrongkey").code == 7
    assert ping(env, "-p", "wrongkey", "-p", "closed").code == 4
    everything = ping(env, "--json")  # no -p: every profile in the config file
    assert [r["profile"] for r in json.loads(everything.out)["results"]] == [
        "good",
        "claude",
        "wrongkey",
        "nokey",
        "closed",
        "nowhere",
    ]
    assert everything.code == 4 and len(everything.err.strip().splitlines()) == 4


def test_count_repeats_like_ping(env: dict[str, str]) -> None:
    ran = ping(env, "-p", "good", "--count", "3", "--interval", "0")
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["seq=1", "seq=2", "seq=3"]
    assert "3 sent, 3 ok, 0 failed" in ran.out
    assert any(line.strip().startswith("total min/avg/max/stddev = ") for line in lines)
    doc = json.loads(ping(env, "-p", "good", "-c", "2", "-i", "0", "--json").out)["results"][0]
    assert (
        doc["count"] == 2 and len(doc["runs"]) == 2 and set(doc["stats"]["total_ms"]) == {"min", "avg", "max", "stddev"}
    )


def test_chat_times_a_one_token_completion(env: dict[str, str], isolated: Path) -> None:
    ran = ping(env, "-p", "good", "-p", "claude", "--chat", "--json")
    assert ran.code == 0, ran.err
    for r in json.loads(ran.out)["results"]:
        assert r["chat_status"] == 200 and r["chat_ttft_ms"] > 0
    with Ledger.open(isolated / "ledger.db") as ledger:
        rows = ledger.recent(10)
    assert {(r.command, r.tag, r.completion_tokens) for r in rows} == {("ping", "ping", 1)}


def test_a_silent_server_is_a_timeout(env: dict[str, str]) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever answers
        write_config(
            env,
            f"""
[profiles.silent]
base_url = "http://127.0.0.1:{silent.getsockname()[1]}/v1"
timeout = {{ connect = 1, read = 0.3, total = 2 }}
""",
        )
        ran = ping(env, "-p", "silent")
    assert ran.code == 6
    one_line_error(ran, "no answer from 127.0.0.1:", "within 0.3 s")


def test_tls_timings_and_certificate_errors(env: dict[str, str], tmp_path: Path) -> None:
    server = TLSServer(tmp_path)
    try:
        write_config(env, f'[profiles.tls]\nbase_url = "{server.url}/v1"\ndefault_model = "gpt-4.1"\n')
        trusted = ping({**env, "SSL_CERT_FILE": str(server.cert)}, "-p", "tls", "--chat", "--json")
        assert trusted.code == 0, trusted.err
        (r,) = json.loads(trusted.out)["results"]
        assert r["tls_ms"] > 0 and r["models"] == 2 and r["chat_ttft_ms"] > 0
        untrusted = ping({**env, "SSL_CERT_FILE": certifi.where()}, "-p", "tls")
        assert untrusted.code == 7
        one_line_error(untrusted, "TLS error talking to localhost:", "certificate")
        broken = ping({**env, "SSL_CERT_FILE": "/dev/null"}, "-p", "tls")
        assert broken.code == 3
        one_line_error(broken, "cannot load CA certificates from /dev/null")
    finally:
        server.close()
