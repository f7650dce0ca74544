"""`relay ping` on a redirect: exit 5 (as `relay stream`), saying relay does not follow redirects."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import run_relay
from tests.integration.support import write_config


class Redirect(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("location", "https://elsewhere.example/v1/models")
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture
def redirecting() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)  # quick shutdown
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_redirect_is_exit_5_and_not_followed(relay_env: dict[str, str], redirecting: str) -> None:
    write_config(relay_env, f'[profiles.moved]\nbase_url = "{redirecting}/v1"\n')
    ran = run_relay("ping", "-p", "moved", env=relay_env)
    assert ran.code == 5, ran.err
    assert "HTTP 301" in ran.err and "does not follow redirects" in ran.err
    assert "elsewhere.example" in ran.err
