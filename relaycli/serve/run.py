"""The body of ``relay serve``: check where to listen, build the gateway, run the HTTP server, stop cleanly.

The server is uvicorn with httptools (see the README for the measurement behind the choice), imported
here only. On SIGTERM or Ctrl-C it stops accepting, gives requests in flight ``GRACE_S`` to finish, then
cancels the rest (each recorded as interrupted), closes the upstream connections so no request stays
blocked, and writes every queued ledger row before exiting.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

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
WORKERS = 64  # requests sent upstream at once; more wait their turn
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 2000


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    port: int
    log_format: str = "text"


@dataclass(frozen=True, slots=True)
class ServeServices:
    pipeline: Pipeline
    settings: Settings
    default: Profile
    notes: Notes
    env: Mapping[str, str]
    usage: Callable[[Mapping[str, str]], tuple[int, dict[str, Any]]]
    count_tokens: Callable[[Any, Mapping[str, str]], tuple[int, dict[str, Any]]]
    abort: Callable[[], None]  # close upstream connections (requests still reading from them end)
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
    chat = ChatService(services.pipeline, routes, executor, services.notes)

    async def usage(query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        return await asyncio.get_running_loop().run_in_executor(executor, services.usage, query)

    async def count_tokens(body: Any, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        return await asyncio.get_running_loop().run_in_executor(executor, services.count_tokens, body, headers)

    return Gateway(chat, keys, log, max_body=settings.serve.max_body, usage=usage, count_tokens=count_tokens)


def run_serve(services: ServeServices, options: ServeOptions) -> int:
    keys = ClientKeys.resolve(services.settings.serve.keys, services.env)
    check_host(options.host, keys)
    import uvicorn

    executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="relay-serve")
    gateway = build_gateway(services, keys, AccessLog(options.log_format, services.stderr), executor)
    config = uvicorn.Config(
        gateway,
        host=options.host,
        port=options.port,
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
    server = uvicorn.Server(config)
    try:
        asyncio.run(_serve(server, services, options, keys))
    finally:
        gateway.chat.cancel_all()  # what the grace left running is interrupted, and recorded so
        services.abort()
        _wait(executor, GRACE_S)
    return 0 if server.started else 1


async def _serve(server: Any, services: ServeServices, options: ServeOptions, keys: ClientKeys) -> None:
    task = asyncio.ensure_future(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        services.stdout.write(f"http://{shown}:{port}\n")
        services.stdout.flush()
        guard = "client keys required" if keys.required else "loopback only, no client keys"
        services.notes.note(
            f"relay serve: listening on http://{shown}:{port} ({guard}); OpenAI base URL http://{shown}:{port}/v1,"
            f" Anthropic base URL http://{shown}:{port}; Ctrl-C stops"
        )
    await task


def _wait(executor: ThreadPoolExecutor, seconds: float) -> None:
    """Let the worker threads finish their rows, for at most ``seconds``."""
    done = threading.Event()

    def shutdown() -> None:
        executor.shutdown(wait=True, cancel_futures=True)
        done.set()

    threading.Thread(target=shutdown, daemon=True).start()
    done.wait(seconds)
