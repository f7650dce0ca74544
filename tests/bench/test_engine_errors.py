"""The bench engine reports a failed exchange as the same RelayError the httpx client raises."""

from __future__ import annotations

import socket
import time

from relaycli.errors import ExitCode, NetworkError
from relaycli.measure.engine import Engine, TimedRequest, Wire
from relaycli.measure.http1 import parse_origin


def test_a_refused_connection_is_a_network_error_naming_the_profile() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once it is closed
    origin = parse_origin(f"http://127.0.0.1:{port}/v1")
    engine = Engine([Wire(origin, socket.AF_INET, ("127.0.0.1", port), profile="closed")])
    try:
        engine.submit(TimedRequest(0, b"GET / HTTP/1.1\r\n\r\n"))
        deadline = time.monotonic() + 5
        done: list[TimedRequest] = []
        while not done and time.monotonic() < deadline:
            done = engine.poll(0.05)
    finally:
        engine.close()
    (ex,) = done
    assert ex.error == "refused"
    assert isinstance(ex.failure, NetworkError) and ex.failure.exit_code == ExitCode.NETWORK
    assert f"127.0.0.1:{port} (profile 'closed')" in ex.failure.message
