"""The local relay reports prompt-cache writes by lifetime when asked (``cache_write_5m``, ``cache_write_1h``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer

BODY: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 1024,
    "messages": [{"role": "user", "content": "hello there"}],
}
ASK = {"X-Mock": "cache_write_5m=300 cache_write_1h=2000", "anthropic-version": "2023-06-01"}
SPLIT = {
    "input_tokens": 2,
    "cache_creation_input_tokens": 2300,
    "cache_read_input_tokens": 0,
    "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 2000},
}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with MockServer() as server, httpx.Client(base_url=server.url, timeout=5) as c:
        yield c


def test_a_complete_message_reports_both_lifetimes(client: httpx.Client) -> None:
    usage = client.post("/v1/messages", json=BODY, headers=ASK).json()["usage"]
    assert usage == {**SPLIT, "output_tokens": 40}


def test_message_start_reports_both_lifetimes(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/messages", json={**BODY, "stream": True}, headers=ASK) as response:
        text = response.read().decode()
    start = next(block for block in text.split("\n\n") if block.startswith("event: message_start"))
    message = json.loads(start.split("data: ", 1)[1])["message"]
    assert message["usage"] == {**SPLIT, "output_tokens": 1}


def test_the_directives_parse() -> None:
    opts = MockOptions().with_directives("cache_write_1h=5 cache-write-5m=7")
    assert (opts.cache_write_5m, opts.cache_write_1h) == (7, 5)
    assert MockOptions().with_directives(opts.directives()) == opts
