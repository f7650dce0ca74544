"""``MockServer``: the local relay on a real loopback socket, run in a daemon thread; ``serve`` runs it in
the foreground for ``relay mock-server``.

Endpoints: ``GET /health``, ``GET /v1/models`` (Anthropic's shape when the request carries an
``anthropic-version`` header), ``GET /v1/models/{id}``, ``POST /v1/chat/completions`` and
``POST /v1/messages``, streaming or not, and ``POST /v1/messages/count_tokens``. Each request's behaviour
is the server's ``MockOptions`` overridden by an ``X-Mock: <directives>`` header, then by
``[[mock: <directives>]]`` in the last user message. Every request leaves a ``MockRecord`` (timestamps
from ``time.perf_counter_ns``) in ``MockServer.log`` and, with ``log_path``, a JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from relaycli.mock.httpio import BadRequest, Request, read_request, response
from relaycli.mock.openai_wire import OPENAI
from relaycli.mock.options import MockOptions
from relaycli.mock.respond import JSON, MockCall, MockRecord
from relaycli.mock.router import Router
from relaycli.mock.stream import ClientGone
from relaycli.mock.wire import request_id


class MockServer:
    """The local relay, listening on ``host:port`` (port 0 picks a free one) from a daemon thread.

    ``options`` may be replaced while the server runs; each request reads it once.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        options: MockOptions | None = None,
        *,
        log_path: str | Path | None = None,
        keep_log: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.options = options if options is not None else MockOptions()
        self.log: list[MockRecord] = []
        self.log_path = Path(log_path) if log_path is not None else None
        self._keep_log = keep_log
        self._log_file: IO[str] | None = None
        self._router = Router(lambda: self.options)
        self.connections = 0
        """TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> MockServer:
        """Start listening; returns once the socket accepts connections (raises ``OSError`` if the
        address is taken)."""
        if self._thread is not None:
            raise RuntimeError("MockServer already started")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:
                failure.append(exc)
                loop.close()
                started.set()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close())
                loop.close()

        thread = threading.Thread(target=run, name=f"relay-mock-{self.host}:{self.port}", daemon=True)
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop, self._thread = loop, thread
        return self

    def stop(self) -> None:
        """Close the socket and every open connection (stalled streams included); wait for the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already stopped
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the log and the ``fail_times`` counters."""
        self.log.clear()
        self._router.reset()
        self.connections = 0

    def wait_for_log(self, count: int, timeout: float = 2.0) -> list[MockRecord]:
        """The log once it holds at least ``count`` records (a record is written when its response
        ends, which for an abandoned stream is when the server notices the client left)."""
        deadline = time.monotonic() + timeout
        while len(self.log) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"mock log has {len(self.log)} records, expected {count}")
            time.sleep(0.002)
        return list(self.log)

    async def _open(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, backlog=1024, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.log_path is not None:
            self._log_file = self.log_path.open("a", encoding="utf-8")

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # ----------------------------------------------------------------------------- connection

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                try:
                    req = await read_request(reader, writer)
                except BadRequest as exc:
                    body = OPENAI.error(exc.status, "invalid_request_error", exc.message)
                    writer.write(response(exc.status, JSON, body, keep_alive=False))
                    break
                if req is None or not await self._request(req, reader, writer):
                    break
        except (ConnectionError, OSError, EOFError, ClientGone, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the server is stopping; this task is the connection's outermost frame
        except Exception:  # a bug in the mock itself: show it, keep serving other connections
            traceback.print_exc(file=sys.stderr)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()

    async def _request(self, req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; whether the connection may carry another."""
        rec = MockRecord(req.path, req.method, request_id(), req.t_received_ns)
        try:
            return await self._router.handle(MockCall(req, reader, writer, rec, [], self._finish))
        except ClientGone:
            if rec.outcome != "stalled":
                rec.outcome = "disconnected"
            return False
        finally:
            self._finish(rec)

    def _finish(self, rec: MockRecord) -> None:
        """Close a record (once): stamp its end and log it."""
        if rec.t_end_ns:
            return
        rec.t_end_ns = time.perf_counter_ns()
        if self._keep_log:
            self.log.append(rec)
        if self._log_file is not None:
            self._log_file.write(json.dumps(asdict(rec)) + "\n")
            self._log_file.flush()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    options: MockOptions | None = None,
    *,
    ready: Callable[[str], None] | None = None,
    log_path: str | Path | None = None,
) -> None:
    """Run the local relay in the foreground until Ctrl-C. ``ready`` is called with the base URL
    ("http://127.0.0.1:PORT") once the socket listens. The server is shut down cleanly, then the
    ``KeyboardInterrupt`` propagates to the caller. Records go to ``log_path`` only (not kept in memory)."""
    server = MockServer(host, port, options, log_path=log_path, keep_log=False)
    server.start()
    try:
        if ready is not None:
            ready(server.url)
        thread = server._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)
    finally:
        server.stop()


__all__ = ["MockOptions", "MockRecord", "MockServer", "serve"]
