"""The body of ``relay serve``: check where to listen, build the gateway, run the HTTP server, stop cleanly.

The server is uvicorn with httptools (see the README for the measurement behind the choice), imported
here only. Requests run on its event loop (``core/bridge.py``); reports from the ledger (``/v1/usage``) in a
few threads beside it. On SIGTERM or Ctrl-C it stops accepting, gives requests in flight ``GRACE_S`` to
finish, then cancels the rest (each recorded as interrupted), and writes every queued ledger row before
exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from relaycli.core import bridge
from relaycli.errors import UsageError
from relaycli.serve.access import AccessLog
from relaycli.serve.auth import ClientKeys

if TYPE_CHECKING:
    from relaycli.config.loader import Settings
    from relaycli.config.profile import Profile
    from relaycli.datatypes import Notes
    from relaycli.pipeline import Pipeline
    from relaycli.serve.app import Gateway

__all__ = ["ServeOptions", "ServeServices", "build_gateway", "check_host", "run_serve"]

GRACE_S = 5.0  # what requests in flight get to finish once the server is told to stop
REPORT_THREADS = 4  # /v1/usage reports read the ledger at once; more wait their turn
KEEP_ALIVE_S = 5
TEAM_PUSH_S = 10.0  # how often a gateway's rows go to the team ledger (and once more when it stops)
MAX_CONNECTIONS = 2000
_PR_SET_PDEATHSIG = 1  # prctl(2)
SPREAD = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")  # the kernel balances (BSDs do not)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    port: int
    log_format: str = "text"
    workers: int = 1  # processes


@dataclass(frozen=True, slots=True)
class ServeServices:
    pipeline: Pipeline
    settings: Settings
    default: Profile
    notes: Notes
    env: Mapping[str, str]
    usage: Callable[[Mapping[str, str]], tuple[int, dict[str, Any]]]
    count_tokens: Callable[[Any, Mapping[str, str]], tuple[int, dict[str, Any]]]
    team_push: Callable[[], None] | None = None  # [team] configured: send the new ledger rows to the team ledger
    close: Callable[[], None] = lambda: None  # write what is queued and close (a forked worker's own end)
    stdout: TextIO = sys.stdout
    stderr: TextIO = sys.stderr


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, keys: ClientKeys) -> None:
    """Only loopback without client keys: anyone who can reach the port spends the profiles' money."""
    if not is_loopback(host) and not keys.required:
        raise UsageError(
            f"relay serve will not listen on {host} without client keys: anyone who reaches it would spend"
            " your profiles' keys",
            hint="add [serve] keys (hashes from `relay serve --hash-key`), or listen on 127.0.0.1",
        )


def build_gateway(services: ServeServices, keys: ClientKeys, log: AccessLog, executor: ThreadPoolExecutor) -> Gateway:
    from relaycli.serve.app import Gateway
    from relaycli.serve.chat import ChatService
    from relaycli.serve.routing import Routes

    settings = services.settings
    routes = Routes(settings.serve.routes, settings.profiles, services.default)
    chat = ChatService(services.pipeline, routes, services.notes)

    async def usage(query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        return await asyncio.get_running_loop().run_in_executor(executor, services.usage, query)

    async def count_tokens(body: Any, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        return await bridge.run(lambda: services.count_tokens(body, headers))

    return Gateway(chat, keys, log, max_body=settings.serve.max_body, usage=usage, count_tokens=count_tokens)


def run_serve(
    build: Callable[[], ServeServices], settings: Settings, env: Mapping[str, str], notes: Notes, options: ServeOptions
) -> int:
    """Serve until told to stop. ``build`` makes a process's services (its pipeline, ledger, clients): once
    here, or once in each of ``options.workers`` processes forked after the socket is bound (nothing has
    started a thread by then), which share the port and the ledger, cache and limits files.

    Workers on Linux each listen on a socket of their own on the port (``SO_REUSEPORT``), and the kernel
    spreads new connections evenly over them; with one shared socket, the worker that wakes first accepts
    every connection waiting (asyncio takes them all), so a burst of clients could land on one worker
    while the other idles. The parent's socket only holds the port until each worker has its own."""
    keys = ClientKeys.resolve(settings.serve.keys, env)
    check_host(options.host, keys)
    sock = _bind(options.host, options.port, spread=options.workers > 1 and SPREAD)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if options.workers == 1:
        services = build()
        _announce(services.stdout, notes, shown, port, keys, 1)
        return _serve_here(services, options, keys, sock)
    return _supervise(build, options, keys, sock, (shown, port), notes)


def _bind(host: str, port: int, *, spread: bool = False) -> socket.socket:
    """A socket bound to ``host:port`` and listening; with ``spread``, the first of a group of sockets sharing
    the port (``SO_REUSEPORT``), only bound: each worker adds a listening one (``_own_socket``). Either way a
    port that another server holds is refused: a group is never joined to another server's workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = host.strip("[]")
    try:
        if spread:  # a plain bind fails where any server listens, whatever its options
            probe = _socket(family, reuse_port=False)
            try:
                probe.bind((address, port))
                port = probe.getsockname()[1]
            finally:
                probe.close()
        sock = _socket(family, reuse_port=spread)
        try:
            sock.bind((address, port))
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise UsageError(f"relay serve cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not spread:
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _socket(family: socket.AddressFamily, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio sets TCP_NODELAY only then
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def _own_socket(shared: socket.socket) -> socket.socket:
    """A worker's listening socket: its own in the shared port's group (``SPREAD``), or the shared one."""
    if not SPREAD:
        return shared
    own = _socket(shared.family, reuse_port=True)
    own.bind(shared.getsockname())
    own.listen(2048)
    shared.close()
    return own


def _stop_with(parent: int) -> None:
    """A worker is told to stop (SIGTERM: it finishes and writes its rows) when its parent dies, even by
    SIGKILL, instead of serving on as an orphan nobody stops (Linux; elsewhere the parent's signals only)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it died before that took hold
        os.kill(os.getpid(), signal.SIGTERM)


def _until_listening(ready: int, workers: int, timeout: float = 30.0) -> None:
    """Wait until each worker says it listens (a byte on the ``ready`` pipe), or has died (the pipe ends):
    the address is announced only then, so no client is refused before a worker listens."""
    told = 0
    deadline = time.monotonic() + timeout
    try:
        while told < workers:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([ready], [], [], left)[0]:
                return
            got = os.read(ready, workers)
            if not got:
                return
            told += len(got)
    finally:
        os.close(ready)


def _announce(out: TextIO, notes: Notes, host: str, port: int, keys: ClientKeys, workers: int) -> None:
    out.write(f"http://{host}:{port}\n")
    out.flush()
    guard = "client keys required" if keys.required else "loopback only, no client keys"
    procs = f", {workers} worker processes" if workers > 1 else ""
    notes.note(
        f"relay serve: listening on http://{host}:{port} ({guard}{procs}); OpenAI base URL"
        f" http://{host}:{port}/v1, Anthropic base URL http://{host}:{port}; Ctrl-C stops"
    )


def _serve_here(services: ServeServices, options: ServeOptions, keys: ClientKeys, sock: socket.socket) -> int:
    import uvicorn

    executor = ThreadPoolExecutor(max_workers=REPORT_THREADS, thread_name_prefix="relay-serve")
    gateway = build_gateway(services, keys, AccessLog(options.log_format, services.stderr), executor)
    server = uvicorn.Server(server_config(gateway))
    pusher = _Every(TEAM_PUSH_S, services.team_push) if services.team_push is not None else None
    try:
        server.run(sockets=[sock])
    finally:
        if pusher is not None:
            pusher.stop()
        _wait(executor, GRACE_S)
    return 0


def server_config(app: Any) -> Any:
    """The uvicorn settings ``relay serve`` runs ``app`` with (``benchmarks/serve_floor.py`` uses them too)."""
    import uvicorn

    return uvicorn.Config(
        app,
        http="httptools",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=int(GRACE_S),
        limit_concurrency=MAX_CONNECTIONS,
        server_header=False,
    )


def _supervise(
    build: Callable[[], ServeServices],
    options: ServeOptions,
    keys: ClientKeys,
    sock: socket.socket,
    where: tuple[str, int],
    notes: Notes,
) -> int:
    """Fork the workers and wait for them; a stop signal is passed on to each, which stops as one server does."""
    children: list[int] = []
    parent = os.getpid()
    ready, listening = os.pipe()
    for _ in range(options.workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own services and listening socket
            code = 1
            try:
                _stop_with(parent)
                os.close(ready)
                sock = _own_socket(sock)
                os.write(listening, b"1")
                os.close(listening)
                services = build()
                try:
                    code = _serve_here(services, options, keys, sock)
                finally:
                    services.close()  # its queued ledger rows and cache entries, before the exit that skips all else
            except KeyboardInterrupt:  # told to stop (Ctrl-C, SIGTERM): it did
                code = 0
            except BaseException:  # noqa: BLE001 - a worker's failure is its exit code
                code = 1
            finally:
                os._exit(code)
        children.append(pid)
    os.close(listening)
    _until_listening(ready, options.workers)
    sock.close()
    _announce(sys.stdout, notes, where[0], where[1], keys, options.workers)

    stopped: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopped.append(signum)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signals = [s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, forward) for sig in signals}  # an ignored one (nohup) stays ignored
    failed = 0
    try:
        for child in children:
            _, status = os.waitpid(child, 0)  # retried by Python when a signal interrupts it
            failed += os.waitstatus_to_exitcode(status) != 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopped:  # stop as a signalled relay does (130, 143, 129), now that every worker has written its rows
        signal.raise_signal(stopped[0])
    return 1 if failed else 0


class _Every:
    """Calls ``job`` every ``seconds`` in a thread of its own until ``stop``."""

    def __init__(self, seconds: float, job: Callable[[], None]) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(seconds, job), name="relay-team-push", daemon=True)
        self._thread.start()

    def _loop(self, seconds: float, job: Callable[[], None]) -> None:
        while not self._stopped.wait(seconds):
            with contextlib.suppress(Exception):  # a failed push stays queued; it says so itself
                job()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


def _wait(executor: ThreadPoolExecutor, seconds: float) -> None:
    """Let the report threads (``/v1/usage``) finish, for at most ``seconds``."""
    done = threading.Event()

    def shutdown() -> None:
        executor.shutdown(wait=True, cancel_futures=True)
        done.set()

    threading.Thread(target=shutdown, daemon=True).start()
    done.wait(seconds)
