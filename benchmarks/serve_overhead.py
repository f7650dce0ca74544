"""What `relay serve` adds: latency over calling the upstream directly, and the rate it sustains.

    python benchmarks/serve_overhead.py [--seconds 3] [--words 10] [--rate-seconds 5] [--check]

The built-in local relay (``python -m relaycli.mock``, instant answers: ``ttft=0,token_delay=0`` and
``--words`` words, each a stream event) and ``relay serve`` (a fresh ``RELAY_HOME``, the ``mock``
profile, the cache, limits and ledger on as by default, its access log written to a file) run as
processes of their own. A client on raw asyncio sockets (keep-alive connections, streamed OpenAI chat
requests, every prompt distinct, so every request is a cache miss that goes upstream) measures each
request's time to first token (the first chunk with content) and end to end, straight at the local relay
and through ``relay serve``, alternating, at concurrency 1 and 32. The added latency is the difference
of the two runs' percentiles. Then it sends as fast as it can through ``relay serve`` at concurrency 64 and
counts the answers per second (all must succeed), and the server's CPU per request.

The floor (``serve_floor.py``) is measured in the same alternation: the same server library and upstream
connection passing requests through with none of relay's work. What it adds is what any Python gateway on
this server library and these cores adds; what ``relay serve`` adds beyond it is relay's own work.

Targets: added p50 under 1 ms at concurrency 1 and under 3 ms at 32; at least 1,000 streamed requests
per second. The client, the local relay and the server share this machine's cores; the client's own
cost is in both runs alike.

Prints one line per figure and PASS/FAIL; exits 0 either way unless ``--check``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_ids = itertools.count()
CONTENT = re.compile(rb'"content":"[^"]')  # a chunk with text in it


@dataclass
class Sample:
    ttft: list[float]
    total: list[float]
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.total) / self.seconds


def _env(home: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env["PYTHONPATH"] = str(ROOT)
    if home is not None:
        env["RELAY_HOME"] = str(home)
    return env


def start(
    argv: list[str], env: dict[str, str], stderr: object = subprocess.DEVNULL
) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)  # type: ignore[arg-type]
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url:
        raise SystemExit(f"{argv[:4]} did not start")
    return proc, url.removesuffix("/v1")


def request(host: str) -> bytes:
    prompt = f"benchmark question {next(_ids)} at {time.time_ns()}"
    body = json.dumps({"model": "gpt-4.1-mini", "stream": True, "messages": [{"role": "user", "content": prompt}]})
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer benchmark\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body.encode()


async def one_connection(host: str, port: int, until: float, sample: Sample) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            writer.write(request(f"{host}:{port}"))
            head = await reader.readuntil(b"\r\n\r\n")
            ok = head.startswith(b"HTTP/1.1 200")
            first: float | None = None
            while True:  # chunked: size line, data, CRLF; a 0-size chunk ends it
                size = int((await reader.readline()).strip(), 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                if first is None and CONTENT.search(data):
                    first = time.perf_counter()
            done = time.perf_counter()
            if not ok:
                sample.errors += 1
                continue
            sample.ttft.append(((first or done) - sent) * 1000)
            sample.total.append((done - sent) * 1000)
    finally:
        writer.close()


def load(url: str, concurrency: int, seconds: float) -> Sample:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sample = Sample([], [], 0, seconds)

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(one_connection(host, int(port), until, sample) for _ in range(concurrency)))

    asyncio.run(run())
    return sample


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round((len(ordered) - 1) * q / 100)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its child processes (``--workers``), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per latency run")
    parser.add_argument("--rounds", type=int, default=2, help="alternating direct/serve runs per concurrency")
    parser.add_argument("--words", type=int, default=10, help="words (stream events) per answer")
    parser.add_argument("--rate-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="relay serve --workers (default: 2, the cores here)")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="relay-serve-bench-"))
    home = work / "home"
    home.mkdir()
    (home / "config.toml").write_text('default_profile = "mock"\n')
    mock, upstream = start(
        [sys.executable, "-m", "relaycli.mock", "--port", "0", "--set", f"ttft=0,token_delay=0,words={args.words}"],
        _env(),
    )
    log = (work / "access.log").open("w")
    server_env = _env(home) | {"RELAY_MOCK_URL": upstream}
    serve, gateway = start(
        [sys.executable, "-m", "relaycli", "serve", "--port", "0", "--workers", str(args.workers)],
        server_env,
        stderr=log,
    )
    floor, bare = start(
        [sys.executable, str(ROOT / "benchmarks" / "serve_floor.py"), upstream, "--workers", str(args.workers)], _env()
    )
    results: list[tuple[str, bool]] = []
    try:
        load(upstream, 4, 0.5)  # warm them up: connections, code paths, the ledger and cache files
        load(bare, 4, 0.5)
        load(gateway, 4, 1.0)
        print(
            f"relay serve in front of the built-in relay ({args.words}-word answers, instant), streamed OpenAI"
            f" requests, distinct prompts, {args.workers} server process{'es' if args.workers > 1 else ''};"
            f" {platform.python_implementation()} {platform.python_version()},"
            f" {os.cpu_count()} cores\n"
        )
        for concurrency, target in ((1, 1.0), (32, 3.0)):
            direct = Sample([], [], 0, 0.0)
            through = Sample([], [], 0, 0.0)
            passed = Sample([], [], 0, 0.0)
            for _ in range(args.rounds):
                for url, into in ((upstream, direct), (bare, passed), (gateway, through)):
                    got = load(url, concurrency, args.seconds)
                    into.ttft += got.ttft
                    into.total += got.total
                    into.errors += got.errors
                    into.seconds += got.seconds
            print(
                f"- concurrency {concurrency}: direct {direct.rate:,.0f} req/s, through serve {through.rate:,.0f} req/s"
            )
            for name, label in (("ttft", "TTFT"), ("total", "end to end")):
                d50, s50 = pct(getattr(direct, name), 50), pct(getattr(through, name), 50)
                d99, s99 = pct(getattr(direct, name), 99), pct(getattr(through, name), 99)
                print(
                    f"  - {label}: p50 {d50:.2f} -> {s50:.2f} ms (+{s50 - d50:.2f} ms),"
                    f" p99 {d99:.2f} -> {s99:.2f} ms (+{s99 - d99:.2f} ms)"
                )
            f50, f99 = pct(passed.total, 50), pct(passed.total, 99)
            d50, d99 = pct(direct.total, 50), pct(direct.total, 99)
            print(
                f"  - the floor (a bare pass-through, {passed.rate:,.0f} req/s, {passed.errors} errors): end to end"
                f" p50 {f50:.2f} ms (+{f50 - d50:.2f} ms over direct), p99 {f99:.2f} ms (+{f99 - d99:.2f} ms)"
            )
            added_p50 = pct(through.total, 50) - d50
            ok = added_p50 < target and through.errors == 0
            results.append((f"added p50 at concurrency {concurrency}", ok))
            print(f"  - added p50 end to end {added_p50:.2f} ms (target < {target:g} ms): {'PASS' if ok else 'FAIL'}")
        before = cpu_seconds(serve.pid)
        rate = load(gateway, 64, args.rate_seconds)
        cpu = cpu_seconds(serve.pid) - before
        ok = rate.rate >= 1000 and rate.errors == 0
        results.append(("streamed requests per second", ok))
        per = cpu / max(len(rate.total), 1) * 1000
        print(
            f"- highest rate at concurrency 64: {rate.rate:,.0f} streamed req/s, {rate.errors} errors,"
            f" server CPU {per:.2f} ms per request (target >= 1,000 req/s, no errors): {'PASS' if ok else 'FAIL'}"
        )
    finally:
        for proc in (serve, floor, mock):
            proc.terminate()
            proc.wait(timeout=20)
        log.close()
    passed = all(ok for _, ok in results)
    print(f"\nserve overhead: {'PASS' if passed else 'FAIL'}")
    if args.check and not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
