"""`relay bench` over https: the non-blocking TLS handshake, keep-alive reuse, and certificate failures."""

from __future__ import annotations

import json
from pathlib import Path

import certifi

from tests.conftest import run_relay
from tests.integration.support import write_config

from .support import TLSServer


def test_bench_over_tls(relay_env: dict[str, str], tmp_path: Path) -> None:
    server = TLSServer(tmp_path)
    try:
        write_config(relay_env, f'[profiles.tls]\nbase_url = "{server.url}/v1"\ndefault_model = "gpt-4.1"\n')
        ran = run_relay(
            "bench",
            "-p",
            "tls",
            "-n",
            "6",
            "-c",
            "2",
            "--json",
            "--raw",
            env={**relay_env, "SSL_CERT_FILE": str(server.cert)},
        )
        assert ran.code == 0, ran.err
        doc = json.loads(ran.out)
        target = doc["targets"][0]
        assert target["ok"] == 6 and target["output_tokens"] == 12 and target["ttft_ms"]["n"] == 6
        assert all(r["ok"] and r["reused_connection"] for r in doc["records"])  # pre-connected, handshake done
        bad = run_relay("bench", "-p", "tls", "-n", "2", "--json", env={**relay_env, "SSL_CERT_FILE": certifi.where()})
        assert bad.code == 7 and json.loads(bad.out)["targets"][0]["errors"] == {"tls": 2}
    finally:
        server.close()
