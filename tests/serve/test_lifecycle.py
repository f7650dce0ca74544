"""A request's life when the client or the server goes away: a client that leaves mid-stream cancels the
upstream request and its row says interrupted; SIGTERM lets the request in flight finish, writes every
row (the queued ones too) and exits 143 (128 + SIGTERM, as every relay command does); a second Ctrl-C
does not wait for the grace: the request in flight is recorded as interrupted, and the exit is 130."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from .conftest import Gateway
from .gateway import ALICE_KEY, CI_KEY, CI_KEY_ENV, keyed_config, read_rows, start_serve

SLOW = 0.05  # seconds between the mock's words: 40 words take 2 s


def _slow_prompt(seed: int, delay: float = SLOW) -> str:
    return f"slow please [[mock: token_delay={delay} seed={seed}]]"


def _mock_record(gateway: Gateway, seed: int, timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for rec in list(gateway.mock.log):
            if f"seed={seed}" in rec.directives:
                return rec
        time.sleep(0.01)
    raise AssertionError(f"the mock never finished the request with seed={seed}")


@pytest.mark.parametrize(
    ("path", "model"),
    [("/v1/chat/completions", "gpt-4.1-mini"), ("/v1/messages", "gpt-4.1-mini"), ("/v1/messages", "claude-haiku-4-5")],
)
def test_a_client_that_leaves_mid_stream_cancels_the_upstream_request(gateway: Gateway, path: str, model: str) -> None:
    seed = random.randrange(1, 10**9)
    tag = f"leaves-{seed}"
    body = {
        "model": model,
        "max_tokens": 100,
        "stream": True,
        "messages": [{"role": "user", "content": _slow_prompt(seed)}],
    }
    headers = {"Authorization": f"Bearer {ALICE_KEY}", "X-Relay-Tag": tag, "anthropic-version": "2023-06-01"}
    started = time.monotonic()
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", gateway.serve.url + path, json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_text():
            if "answer" in chunk:  # some text has come: leave
                break
    rec = _mock_record(gateway, seed)
    assert rec.outcome == "disconnected"  # type: ignore[attr-defined]
    assert rec.tokens < 40  # type: ignore[attr-defined]
    assert time.monotonic() - started < 1.5  # well before the answer's 2 s
    [row] = gateway.serve.wait_rows(f"alice/{tag}", 1)
    assert row["outcome"] == "interrupted"
    line = gateway.serve.log_line(tag)
    assert "the client left" in line


def test_sigterm_lets_the_request_in_flight_finish_and_loses_no_row(gateway: Gateway, tmp_path: Path) -> None:
    """Listening on 0.0.0.0 with client keys is allowed (this server); a stream in flight when SIGTERM comes
    ends whole, every row (queued or not) is in the ledger, and the exit is 143."""
    home = tmp_path / "stopping-home"
    serve = start_serve(
        home,
        keyed_config(gateway.mock.url),
        "--host",
        "0.0.0.0",
        env={CI_KEY_ENV: CI_KEY, "RELAY_MOCK_URL": gateway.mock.url},
    )
    assert serve.url.startswith("http://0.0.0.0:")
    url = serve.url.replace("0.0.0.0", "127.0.0.1")
    headers = {"Authorization": f"Bearer {ALICE_KEY}", "X-Relay-Tag": "stopping"}
    try:
        with httpx.Client(timeout=10) as client:
            for n in range(5):  # answered at once; their rows may still be queued when the signal comes
                quick = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": f"quick {n}"}]}
                assert client.post(url + "/v1/chat/completions", json=quick, headers=headers).status_code == 200
            seed = random.randrange(1, 10**9)
            slow = {
                "model": "gpt-4.1-mini",
                "stream": True,
                "messages": [{"role": "user", "content": _slow_prompt(seed, 0.02)}],  # 0.8 s, within the grace
            }
            with client.stream("POST", url + "/v1/chat/completions", json=slow, headers=headers) as response:
                stream = response.iter_text()
                got = next(stream)
                serve.proc.send_signal(signal.SIGTERM)  # the request is in flight
                got += "".join(stream)
        code = serve.proc.wait(timeout=10)
    finally:
        serve.stop()
    assert code == 143, serve.access_log()
    assert got.rstrip().endswith("data: [DONE]")
    chunks = [json.loads(line[6:]) for line in got.splitlines() if line.startswith("data: {")]
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    rows = read_rows(serve.ledger, "alice/stopping")
    assert [row["outcome"] for row in rows] == ["ok"] * 6
    assert rows[-1]["completion_tokens"] == 40


def test_a_second_ctrl_c_stops_at_once_and_the_request_in_flight_is_recorded_interrupted(
    gateway: Gateway, tmp_path: Path
) -> None:
    serve = start_serve(
        tmp_path / "home", keyed_config(gateway.mock.url), env={"RELAY_MOCK_URL": gateway.mock.url, CI_KEY_ENV: CI_KEY}
    )
    headers = {"Authorization": f"Bearer {ALICE_KEY}", "X-Relay-Tag": "forced"}
    seed = random.randrange(1, 10**9)
    slow = {
        "model": "claude-haiku-4-5",
        "stream": True,
        "messages": [{"role": "user", "content": _slow_prompt(seed, 0.5)}],
    }
    started = time.monotonic()
    try:
        with (
            httpx.Client(timeout=10) as client,
            client.stream("POST", serve.url + "/v1/chat/completions", json=slow, headers=headers) as response,
        ):
            stream = response.iter_text()
            got = next(stream)
            serve.proc.send_signal(signal.SIGINT)
            time.sleep(0.2)
            serve.proc.send_signal(signal.SIGINT)
            with contextlib.suppress(httpx.HTTPError):  # the connection was cut: the answer is incomplete either way
                got += "".join(stream)
        code = serve.proc.wait(timeout=10)
    finally:
        serve.stop()
    took = time.monotonic() - started
    assert code == 130, serve.access_log()
    assert took < 5  # not the answer's 20 s, nor the 5 s grace
    assert "[DONE]" not in got and '"finish_reason":"stop"' not in got
    [row] = read_rows(serve.ledger, "alice/forced")
    assert row["outcome"] == "interrupted"
