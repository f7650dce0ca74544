"""Ground truth for bench tests: the local relay in a process of its own, logging every request."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from relaycli.bench.stats import percentile
from tests.conftest import Ran, run_relay


@contextmanager
def mock_process(directives: str, log: Path) -> Iterator[str]:
    """``python -m relaycli.mock`` with ``directives``; yields its base URL; stops it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli.mock", "--set", directives, "--log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write_profiles(home: Path, urls: dict[str, str]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    text = "".join(
        f'[profiles.{name}]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4.1-mini"\n\n' for name, url in urls.items()
    )
    (home / "config.toml").write_text(text)


def server_log(log: Path) -> dict[str, dict[str, Any]]:
    """Chat requests from the server's log, by request id."""
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {r["request_id"]: r for r in records if r["path"].endswith("/chat/completions")}


def bench(home: Path, *args: str, timeout: float = 120) -> tuple[Ran, dict[str, Any]]:
    ran = run_relay("bench", *args, "--json", "--raw", env={"RELAY_HOME": str(home)}, timeout=timeout)
    assert ran.code == 0, ran.err
    return ran, json.loads(ran.out)


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {name: percentile(ordered, q) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}


class TLSServer:
    """A small HTTPS server on localhost with a self-signed certificate (made with ``openssl``): a model
    list and a streamed chat completion, enough for ping and bench over TLS."""

    def __init__(self, tmp: Path) -> None:
        import shutil
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        if shutil.which("openssl") is None:
            import pytest

            pytest.skip("openssl is not installed")
        self.cert, key = tmp / "cert.pem", tmp / "key.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(key),
                "-out",
                str(self.cert),
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        chunks = [
            {"id": "c", "model": "gpt-4.1", "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
            for w in ("Hi", " there")
        ]
        chunks.append(
            {
                "id": "c",
                "model": "gpt-4.1",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 2},
            }
        )
        stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
        models = json.dumps({"data": [{"id": "gpt-4.1"}, {"id": "gpt-4.1-mini"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # head and body go out in two writes

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, ctype: str, body: bytes) -> None:
                self.send_response(200)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.send_header("x-request-id", "req_tls")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send("application/json", models)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self._send("text/event-stream", stream)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://localhost:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
