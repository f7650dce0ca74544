"""Which maintained ASGI server `relay serve` should face its clients with: each one installed, serving
the same small streaming app, measured with the same client.

    python benchmarks/serve_servers.py [--seconds 3]

The app answers every POST with a 10-event server-sent-events stream (what an instant chat answer is on
the wire); the client keeps 1, then 32, connections busy for ``--seconds`` each and reports requests per
second and the median latency. Candidates: uvicorn with httptools (asyncio and uvloop loops) and with
h11, granian, hypercorn; one not installed is skipped (``pip install granian hypercorn uvloop``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = """
EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"word "}}]}\\n\\n'

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for _ in range(10):
        await send({"type": "http.response.body", "body": EVENT, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\\n\\n", "more_body": False})
"""

BODY = b'{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}'


def candidates(port: int) -> list[tuple[str, list[str], str]]:
    """(label, argv, module that must be installed)."""
    py = sys.executable
    uvicorn = [py, "-m", "uvicorn", "app:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return [
        ("uvicorn + httptools, asyncio loop", [*uvicorn, "--http", "httptools", "--loop", "asyncio"], "httptools"),
        ("uvicorn + httptools, uvloop", [*uvicorn, "--http", "httptools", "--loop", "uvloop"], "uvloop"),
        ("uvicorn + h11", [*uvicorn, "--http", "h11", "--loop", "asyncio"], "h11"),
        (
            "granian (ASGI)",
            ["granian", "--interface", "asgi", "--port", str(port), "--log-level", "warning", "app:app"],
            "granian",
        ),
        (
            "hypercorn",
            [py, "-m", "hypercorn", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
            "hypercorn",
        ),
    ]


async def _connection(port: int, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")
            while True:
                size = int((await reader.readline()).strip(), 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
            latencies.append((time.perf_counter() - start) * 1000)
    finally:
        writer.close()


def load(port: int, concurrency: int, seconds: float) -> tuple[float, float]:
    latencies: list[float] = []

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, until, latencies) for _ in range(concurrency)))

    asyncio.run(run())
    latencies.sort()
    return len(latencies) / seconds, latencies[len(latencies) // 2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relay-servers-"))
    (work / "app.py").write_text(APP)
    print(f"a 10-event SSE answer per request, {os.cpu_count()} cores, client and server on this machine\n")
    print("| server | c=1 req/s | c=1 p50 | c=32 req/s | c=32 p50 |\n|---|---:|---:|---:|---:|")
    for label, argv, module in candidates(free_port()):
        if importlib.util.find_spec(module) is None:
            print(f"| {label} | not installed | | | |")
            continue
        port = (
            int(argv[argv.index("--port") + 1]) if "--port" in argv else int(argv[argv.index("-b") + 1].split(":")[1])
        )
        proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not wait_listening(port, proc):
                print(f"| {label} | did not start | | | |")
                continue
            try:
                load(port, 4, 0.5)
                one = load(port, 1, args.seconds)
                many = load(port, 32, args.seconds)
            except (OSError, asyncio.IncompleteReadError) as exc:  # e.g. a connection closed between requests
                print(f"| {label} | failed: {type(exc).__name__} (keep-alive requests) | | | |")
                continue
            print(f"| {label} | {one[0]:,.0f} | {one[1]:.2f} ms | {many[0]:,.0f} | {many[1]:.2f} ms |")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
