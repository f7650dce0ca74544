"""How close `relay bench` comes to the truth, next to a plain asyncio + httpx client on the same workload.

    python benchmarks/bench_accuracy.py [--n1 200] [--n16 800] [--words 60]

The local relay runs in its own process (``python -m relaycli.mock``) with seeded random TTFTs (lognormal,
median 30 ms) and per-token delays (uniform 0.5-2 ms), logging every request with its own
``perf_counter_ns`` timestamps. True TTFT = first token handed to the socket - request head read; true
latency = last bytes handed to the socket - the same start (durations within the server's process).

Each client runs at concurrency 1 and 16 against a fresh server; its p50/p95/p99 of TTFT and latency are
compared with the true percentiles of the same requests (matched by request id). The plain client is what
one would write first: ``httpx.AsyncClient``, ``aiter_lines``, a JSON parse per line, a timestamp when the
first content arrives. Also printed: each client's CPU time per request.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from relaycli.bench.stats import percentile  # noqa: E402

BODY = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": 200,
}


def start_server(directives: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli.mock", "--set", directives, "--log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def truth(log: Path) -> dict[str, tuple[float, float]]:
    out = {}
    for line in log.read_text().splitlines():
        r = json.loads(line)
        if r["path"].endswith("/chat/completions") and r["t_first_token_ns"]:
            start = r["t_received_ns"]
            out[r["request_id"]] = ((r["t_first_token_ns"] - start) / 1e6, (r["t_end_ns"] - start) / 1e6)
    return out


def httpx_client(url: str, n: int, concurrency: int) -> tuple[dict[str, tuple[float, float]], float]:
    import httpx

    results: dict[str, tuple[float, float]] = {}

    async def one(client: httpx.AsyncClient) -> None:
        t0 = time.perf_counter_ns()
        first = None
        async with client.stream("POST", url + "/v1/chat/completions", json=BODY) as response:
            rid = response.headers["x-request-id"]
            async for line in response.aiter_lines():
                if first is None and line.startswith("data: {"):
                    data = json.loads(line[6:])
                    if data["choices"] and data["choices"][0]["delta"].get("content"):
                        first = time.perf_counter_ns()
        t1 = time.perf_counter_ns()
        if first is not None:
            results[rid] = ((first - t0) / 1e6, (t1 - t0) / 1e6)

    async def main() -> None:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=60) as client:
            for _ in range(3):
                await one(client)
            results.clear()
            todo = list(range(n))

            async def worker() -> None:
                while todo:
                    todo.pop()
                    await one(client)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    cpu = time.process_time()
    asyncio.run(main())
    return results, (time.process_time() - cpu) / n * 1e3


def relay_bench(url: str, n: int, concurrency: int, home: Path) -> tuple[dict[str, tuple[float, float]], float]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[profiles.t]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4.1-mini"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "relaycli",
            "bench",
            "-p",
            "t",
            "-n",
            str(n),
            "-c",
            str(concurrency),
            "--warmup",
            "3",
            "--max-tokens",
            "200",
            "--json",
            "--raw",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    doc: dict[str, Any] = json.loads(done.stdout)
    records = {r["request_id"]: (r["ttft_ms"], r["latency_ms"]) for r in doc["records"] if not r["warmup"] and r["ok"]}
    return records, doc["self_check"]["cpu_s"] / n * 1e3


def errors(client: dict[str, tuple[float, float]], true: dict[str, tuple[float, float]]) -> list[float]:
    ids = [i for i in client if i in true]
    out = []
    for k in (0, 1):
        a = sorted(client[i][k] for i in ids)
        b = sorted(true[i][k] for i in ids)
        out.extend(percentile(a, q) - percentile(b, q) for q in (0.5, 0.95, 0.99))
    return out


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n1", type=int, default=200)
    parser.add_argument("--n16", type=int, default=800)
    parser.add_argument("--words", type=int, default=60)
    args = parser.parse_args()
    directives = f"ttft_dist=lognormal:0.03:0.5 token_delay_dist=uniform:0.0005:0.002 words={args.words} dist_seed=1"
    print(f"workload: {directives}; server in its own process\n")
    print("client              c    n   error ms: TTFT p50 / p95 / p99 | latency p50 / p95 / p99   CPU ms/req")
    tmp = Path(tempfile.mkdtemp(prefix="relay-bench-accuracy-"))
    for concurrency, n in ((1, args.n1), (16, args.n16)):
        for name in ("relay bench", "asyncio + httpx"):
            log = tmp / f"{name[0]}{concurrency}.jsonl"
            proc, url = start_server(directives, log)
            try:
                if name == "relay bench":
                    client, cpu = relay_bench(url, n, concurrency, tmp / "home")
                else:
                    client, cpu = httpx_client(url, n, concurrency)
            finally:
                time.sleep(0.2)
                proc.terminate()
                proc.wait()
            e = errors(client, truth(log))
            print(
                f"{name:<17} {concurrency:>3} {n:>5}   {e[0]:+6.2f} {e[1]:+6.2f} {e[2]:+6.2f}        | "
                f"{e[3]:+6.2f} {e[4]:+6.2f} {e[5]:+6.2f}          {cpu:6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
