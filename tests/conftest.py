"""Test isolation: every test gets its own RELAY_HOME, no inherited relay settings, and no network
beyond loopback. Integration helpers run the real `relay` in a subprocess."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

RELAY_VARS = ("RELAY_HOME", "RELAY_CONFIG", "RELAY_PROFILE", "RELAY_MODEL", "RELAY_MOCK_URL")


def pytest_configure(config: pytest.Config) -> None:
    """The `relay` processes the tests start keep their bytecode (outside the checkout, shared by the
    workers), as an installed relay does: a machine that sets PYTHONDONTWRITEBYTECODE would otherwise
    compile relay afresh in every one of them. So do the test processes themselves (each xdist worker
    imports relay and has pytest rewrite every test module's asserts: seconds per worker when nothing is
    kept)."""
    import tempfile

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"relay-tests-pycache-{os.getuid()}")
    )
    sys.dont_write_bytecode = False
    if sys.pycache_prefix is None:
        sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True  # unix sockets and the like
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in RELAY_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "relay-home"
    monkeypatch.setenv("RELAY_HOME", str(home))
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if not _is_loopback(host):
            raise AssertionError(f"test tried to reach a non-loopback address: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return home


@pytest.fixture(scope="session")
def mock_server() -> Iterator[object]:
    from relaycli.mock.server import MockServer

    server = MockServer(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Ran:
    code: int
    out: str
    err: str


def run_relay(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60) -> Ran:
    """Run the real CLI in a subprocess, as a user's shell would."""
    full_env = {k: v for k, v in os.environ.items() if k not in RELAY_VARS}
    if "RELAY_HOME" in os.environ:  # the test's own home (the autouse fixture): never the user's files
        full_env["RELAY_HOME"] = os.environ["RELAY_HOME"]
    full_env.update(env or {})
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    done = subprocess.run(
        [sys.executable, "-m", "relaycli", *args],
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def relay_env(isolated: Path, mock_server: object) -> dict[str, str]:
    """Environment for a subprocess `relay`: the test's RELAY_HOME and the session's local relay."""
    return {"RELAY_HOME": str(isolated), "RELAY_MOCK_URL": mock_server.url}  # type: ignore[attr-defined]
