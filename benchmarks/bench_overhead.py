"""How much latency `relay bench` itself adds, and how many requests per second it sustains.

    python benchmarks/bench_overhead.py [--n 2000] [--rounds 3] [--words 16] [--throughput-n 6000]
                                        [--throughput-c 8] [--check]

A fast local endpoint runs in its own process: an asyncio server that answers every POST with the same
pre-rendered streamed chat completion (chunked event stream, ``--words`` content events, usage, [DONE]) in
one write, keep-alive. Against it, in rounds with a rotating order:

* ``hey`` (``apt-get install hey``), at concurrency 1: its per-request response times (``-o csv``, which
  has 0.1 ms resolution);
* ``wrk`` (``apt-get install wrk``), one connection, a POST script: the p50 of its ``--latency``
  distribution (1 µs resolution);
* a raw-socket client in Python (keep-alive, one ``send``, ``recv`` until the last chunk): the floor for
  any Python client;
* ``relay bench -c 1``: its TTFB, TTFT and latency as it reports them (JSON).

Added latency = p50 latency of relay - p50 latency of each reference client, medians over the rounds;
the headline is the largest of these differences (the least flattering). Then
``relay bench -c THROUGHPUT_C -n THROUGHPUT_N`` measures the sustained request rate: measured requests / (wall
time of the measured phase + the time spent parsing the responses afterwards), with relay's self-check
(CPU share, loop busy p99).

Targets: added latency under 1 ms at p50; at least 500 requests/s. The last two lines say PASS or FAIL;
``--check`` exits 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDED_TARGET_MS = 1.0
RATE_TARGET = 500.0
BODY = {
    "model": "gpt-4.1-mini",
    "messages": [{"role": "user", "content": "Say something."}],
    "stream": True,
    "stream_options": {"include_usage": True},
    "max_tokens": 64,
}


def p50(values: list[float]) -> float:
    ordered = sorted(values)
    h = (len(ordered) - 1) * 0.5
    lo = int(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])


# -- the fast endpoint (its own process) ---------------------------------------------------------------


def response_bytes(words: int) -> bytes:
    events = []
    for k in range(words):
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "delta": {"content": f" w{k}"}, "finish_reason": None}],
        }
        events.append(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    events.append(
        b"data: "
        + json.dumps(
            {
                "id": "c1",
                "object": "chat.completion.chunk",
                "model": "gpt-4.1-mini",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
        ).encode()
        + b"\n\n"
    )
    events.append(
        b"data: "
        + json.dumps(
            {
                "id": "c1",
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": words, "total_tokens": words + 5},
            }
        ).encode()
        + b"\n\n"
    )
    events.append(b"data: [DONE]\n\n")
    body = b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: req_fast\r\n"
        b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n"
    )
    return head + body


def serve(words: int) -> None:
    payload = response_bytes(words)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(payload)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


# -- the clients -------------------------------------------------------------------------------------------


def run_hey(url: str, n: int, concurrency: int, body_file: str) -> tuple[list[float], float]:
    """Per-request response times (ms) and requests/s, from hey's CSV."""
    t = time.perf_counter()
    done = subprocess.run(
        [
            "hey",
            "-n",
            str(n),
            "-c",
            str(concurrency),
            "-m",
            "POST",
            "-T",
            "application/json",
            "-H",
            "Accept: text/event-stream",
            "-D",
            body_file,
            "-o",
            "csv",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    return [float(r["response-time"]) * 1e3 for r in rows if r["status-code"] == "200"], n / wall


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "text/event-stream"
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def run_wrk(url: str, seconds: float, script: str) -> float:
    """wrk's p50 latency in ms at one connection."""
    done = subprocess.run(
        ["wrk", "-t1", "-c1", f"-d{seconds:g}s", "--latency", "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "50%":
            value = parts[1]
            unit = next(u for u in ("us", "ms", "s") if value.endswith(u))
            return float(value[: -len(unit)]) * _UNITS[unit]
    raise SystemExit(f"no p50 in wrk's output: {done.stdout}")


def run_raw(port: int, n: int) -> list[float]:
    body = json.dumps(BODY).encode()
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
        b"Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n%b" % (port, len(body), body)
    )
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    clock = time.perf_counter_ns
    for i in range(n + 20):
        t0 = clock()
        sock.sendall(request)
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            data += sock.recv(65536)
        if i >= 20:
            out.append((clock() - t0) / 1e6)
    sock.close()
    return out


def run_relay(env: dict[str, str], n: int, concurrency: int) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "relaycli",
            "bench",
            "-p",
            "fast",
            "-n",
            str(n),
            "-c",
            str(concurrency),
            "--warmup",
            "20",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"relay bench failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per client per round at c=1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--words", type=int, default=16, help="content events per answer")
    parser.add_argument("--throughput-n", type=int, default=6000)
    parser.add_argument("--throughput-c", type=int, default=8)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.words)
        return 0
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--words", str(args.words)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    home = tempfile.mkdtemp(prefix="relay-bench-overhead-")
    Path(home, "config.toml").write_text(
        f'[profiles.fast]\nbase_url = "http://127.0.0.1:{port}/v1"\ndefault_model = "gpt-4.1-mini"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=home, PYTHONPATH=str(ROOT))
    body_file = str(Path(home, "body.json"))
    Path(body_file).write_text(json.dumps(BODY))
    has_hey = shutil.which("hey") is not None
    has_wrk = shutil.which("wrk") is not None
    wrk_script = str(Path(home, "post.lua"))
    Path(wrk_script).write_text(WRK_SCRIPT.format(body=json.dumps(BODY)))
    try:
        print(
            f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; hey: {'yes' if has_hey else 'not installed'}, wrk: "
            f"{'yes' if has_wrk else 'not installed'}"
        )
        print(f"endpoint: a fixed streamed chat completion of {args.words} content events, in its own process\n")
        p50s: dict[str, list[float]] = {
            "hey": [],
            "wrk": [],
            "raw socket": [],
            "relay latency": [],
            "relay TTFT": [],
            "relay TTFB": [],
        }
        kinds = [k for k, ok in (("hey", has_hey), ("wrk", has_wrk), ("raw", True), ("relay", True)) if ok]
        for r in range(args.rounds):
            for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
                if kind == "hey":
                    times, _ = run_hey(url, args.n + 20, 1, body_file)
                    p50s["hey"].append(p50(times[20:]))
                elif kind == "wrk":
                    p50s["wrk"].append(run_wrk(url, max(1.0, args.n / 2000), wrk_script))
                elif kind == "raw":
                    p50s["raw socket"].append(p50(run_raw(port, args.n)))
                else:
                    target = run_relay(env, args.n, 1)["targets"][0]
                    p50s["relay latency"].append(target["latency_ms"]["p50"])
                    p50s["relay TTFT"].append(target["ttft_ms"]["p50"])
                    p50s["relay TTFB"].append(target["ttfb_ms"]["p50"])
        print(
            f"concurrency 1, {args.n} requests per client per round (wrk: {max(1.0, args.n / 2000):g} s), "
            f"{args.rounds} rounds (order rotated):"
        )
        print("client            p50 ms per round           median")
        for name, values in p50s.items():
            if values:
                print(f"{name:<17} {' '.join(f'{v:7.3f}' for v in values):<26} {statistics.median(values):7.3f}")
        relay_p50 = statistics.median(p50s["relay latency"])
        diffs = {name: relay_p50 - statistics.median(p50s[name]) for name in ("hey", "wrk", "raw socket") if p50s[name]}
        print(
            "relay p50 - reference p50: "
            + ", ".join(f"{name} {d:+.3f} ms" for name, d in diffs.items())
            + (" (hey's CSV has 0.1 ms resolution)" if has_hey else "")
        )
        reference, added = max(diffs.items(), key=lambda item: item[1])
        doc = run_relay(env, args.throughput_n, args.throughput_c)
        check = doc["self_check"]
        requests = doc["targets"][0]["requests"]
        io_rate = requests / check["wall_s"]
        rate = requests / (check["wall_s"] + check["analysis_s"])  # parsing every response counted in
        hey_rate = None
        if has_hey:
            _, hey_rate = run_hey(url, args.throughput_n, args.throughput_c, body_file)
        print(
            f"\nthroughput at concurrency {args.throughput_c}, {requests} requests: relay {rate:.0f} req/s with "
            f"every response parsed ({io_rate:.0f} req/s on the wire, {check['analysis_s']:.2f} s parsing; client "
            f"CPU {check['cpu_share']:.0%} of a core, loop busy p99 {check['loop_busy_ms'].get('p99', 0):.2f} ms)"
            + (f"; hey {hey_rate:.0f} req/s" if hey_rate else "")
        )
        ok_added, ok_rate = added < ADDED_TARGET_MS, rate >= RATE_TARGET
        print(
            f"added latency p50 (relay - {reference}, the largest difference): {added:+.3f} ms "
            f"(target < {ADDED_TARGET_MS:g} ms): {'PASS' if ok_added else 'FAIL'}"
        )
        print(f"sustained rate: {rate:.0f} req/s (target >= {RATE_TARGET:g}): {'PASS' if ok_rate else 'FAIL'}")
        return 0 if (ok_added and ok_rate) or not args.check else 1
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
