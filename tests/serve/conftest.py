"""One mock relay, one echoing upstream and one `relay serve` (client keys required) per test process,
shared by the end-to-end tests; each test tells its requests apart by their tag and prompt."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from relaycli.mock.server import MockServer
from tests.integration.loopback import serve as loopback

from .gateway import CI_KEY, CI_KEY_ENV, Serve, keyed_config, start_serve
from .upstream import EchoUpstream


@dataclass
class Gateway:
    serve: Serve
    mock: MockServer
    echo: EchoUpstream
    echo_url: str


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    mock = MockServer(port=0).start()
    echo = EchoUpstream()
    try:
        with loopback(echo) as echo_url:
            home = tmp_path_factory.mktemp("serve") / "relay-home"
            serve = start_serve(
                home, keyed_config(mock.url, echo_url), env={"RELAY_MOCK_URL": mock.url, CI_KEY_ENV: CI_KEY}
            )
            try:
                yield Gateway(serve, mock, echo, echo_url)
            finally:
                serve.stop()
    finally:
        mock.stop()
