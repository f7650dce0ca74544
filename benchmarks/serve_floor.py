"""The floor under `relay serve`: a gateway that does nothing but pass each request through.

    python benchmarks/serve_floor.py UPSTREAM_URL [--workers 2]

The same server library and settings as ``relay serve`` (uvicorn with httptools, the asyncio loop, forked
workers each listening on the port as relay serve's do, with ``serve/run.py``'s own socket helpers) and
the same upstream connection (``core/loop_connection.py``, keep-alive, one pool per worker), but no
routing, no pipeline, no cache, limits, breaker, ledger, key scrubbing or translation: the client's body
goes upstream as it came and each piece of the upstream's stream goes back to the client as it arrives.
What it adds over the upstream is what any Python gateway built on this server library adds before it
does any work; ``serve_overhead.py`` measures it next to ``relay serve``. Prints its URL on stdout, then
serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relaycli.core.loop_connection import Connection, open_connection  # noqa: E402
from relaycli.serve.run import SPREAD, _bind, _own_socket, _until_listening, server_config  # noqa: E402

_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]


class PassThrough:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        head = (
            f"POST {target} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode()
        connection = self.idle.pop() if self.idle else await open_connection(self.host, self.port, tls=None, timeout=5)
        await connection.send(head + body, write_timeout=5, read_timeout=5)
        await send({"type": "http.response.start", "status": connection.status, "headers": _SSE})
        while (piece := await connection.read(5)) is not None:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await connection.settle()
        connection.done()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if connection.finished_cleanly():
            self.idle.append(connection)
        else:
            connection.close()


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upstream", help="the upstream's base URL, http://HOST:PORT")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    host, port = args.upstream.removeprefix("http://").split("/")[0].rsplit(":", 1)

    sock = _bind("127.0.0.1", 0, spread=args.workers > 1 and SPREAD)
    ready, listening = os.pipe()
    children = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            os.close(ready)
            own = _own_socket(sock)
            os.write(listening, b"1")
            os.close(listening)
            try:
                uvicorn.Server(server_config(PassThrough(host, int(port)))).run(sockets=[own])
            finally:
                os._exit(0)
        children.append(pid)
    os.close(listening)
    _until_listening(ready, args.workers)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    sock.close()

    def stop(*_: object) -> None:
        for child in children:
            os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    for child in children:
        os.waitpid(child, 0)


if __name__ == "__main__":
    main()
