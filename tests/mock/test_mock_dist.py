"""Seeded latency distributions, the server-wide pause, and the local relay in its own process."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from relaycli.mock import dist
from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer

CHAT = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "stream": True}


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [
        ("fixed:0.05", 0.05, 0.05),
        ("uniform:0.02:0.08", 0.02, 0.08),
        ("normal:0.05:0.01", 0.0, 1.0),
        ("lognormal:0.04:0.5", 0.0, 10.0),
        ("exp:0.01", 0.0, 10.0),
    ],
)
def test_distributions_sample_in_range_and_are_seeded(spec: str, low: float, high: float) -> None:
    d = dist.parse(spec)
    a = [d.sample(random.Random(7)) for _ in range(3)]
    draws = [d.sample(rng) for rng in [random.Random(1)] for _ in range(2000)]
    assert a[0] == a[1] == a[2] and all(low <= x <= high for x in draws)
    if d.name == "lognormal":
        assert sorted(draws)[1000] == pytest.approx(0.04, rel=0.1)  # the median
    if d.name == "exp":
        assert sum(draws) / len(draws) == pytest.approx(0.01, rel=0.1)


@pytest.mark.parametrize("spec", ["gamma:1", "uniform:0.1", "uniform:0.2:0.1", "exp:-1", "fixed:x", "normal:1:2:3"])
def test_bad_distributions_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        dist.parse(spec)
    with pytest.raises(ValueError, match="ttft_dist"):
        MockOptions.parse_directives(f"ttft_dist={spec}")
    with pytest.raises(ValueError, match="token_delay_dist"):
        MockOptions(token_delay_dist=spec)


def test_schedule_offsets() -> None:
    rng = random.Random(0)
    fixed = dist.schedule(3, ttft=0.1, delay=0.01, ttft_dist=None, delay_dist=None, rng=rng)
    assert fixed == pytest.approx((0.1, 0.11, 0.12, 0.13))
    drawn = dist.schedule(
        4, ttft=0.1, delay=0.01, ttft_dist=dist.parse("uniform:0.2:0.3"), delay_dist=dist.parse("fixed:0.005"), rng=rng
    )
    assert 0.2 <= drawn[0] <= 0.3 and drawn[1:] == pytest.approx([drawn[0] + 0.005 * k for k in range(1, 5)])


def ttfts(server: MockServer, n: int, mock: str = "") -> list[tuple[float, float]]:
    headers = {"X-Mock": mock} if mock else {}
    with httpx.Client(base_url=server.url) as client:
        for _ in range(n):
            client.post("/v1/chat/completions", json=CHAT, headers=headers).read()
    return [
        (r.planned_ttft_ms or 0.0, (r.t_first_token_ns - r.t_received_ns) / 1e6)  # type: ignore[operator]
        for r in server.wait_for_log(n)
    ]


def test_the_server_draws_ttfts_and_logs_them() -> None:
    opts = MockOptions(ttft_dist="uniform:0.01:0.03", words=3, dist_seed=5)
    with MockServer(options=opts) as one, MockServer(options=opts) as two:
        first, second = ttfts(one, 6), ttfts(two, 6)
    assert [p for p, _ in first] == [p for p, _ in second]  # same seed, same draws
    assert len({p for p, _ in first}) == 6
    for planned, actual in first:
        assert 10 <= planned <= 30 and planned - 0.5 <= actual <= planned + 30


def test_token_delay_distribution_paces_tokens(mock_server: MockServer) -> None:
    mock_server.reset()
    ttfts(mock_server, 1, "words=6 token_delay_dist=fixed:0.02 dist_seed=3")
    # the session's shared server may log another test's request too: this one is known by its directives
    (rec,) = [r for r in mock_server.log if r.directives == "dist_seed=3,token_delay_dist=fixed:0.02,words=6"]
    # token k is due k x 20 ms after receipt (a late first token does not move the last): never earlier
    assert (rec.t_last_token_ns - rec.t_received_ns) / 1e6 >= 5 * 20 - 1  # type: ignore[operator]


def test_pause_freezes_the_whole_server_once() -> None:
    with (
        MockServer(options=MockOptions(words=2, pause_after=1, pause=0.3)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        took = []
        for _ in range(3):
            start = time.perf_counter()
            client.post("/v1/chat/completions", json=CHAT).read()
            took.append(time.perf_counter() - start)
    assert took[0] < 0.2 and took[1] >= 0.3 and took[2] < 0.2


def test_module_runs_the_server_in_its_own_process(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli.mock", "--set", "words=2", "--log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        with httpx.Client(base_url=url) as client:
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["tokens"] == 2 and record["t_end_ns"] >= record["t_first_token_ns"] >= record["t_received_ns"]
    bad = subprocess.run(
        [sys.executable, "-m", "relaycli.mock", "--set", "ttft_dist=nope"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown distribution" in bad.stderr
