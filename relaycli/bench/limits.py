"""Checks on the load settings made before anything is sent: finite numbers, and a connection count the
process's open-file limit allows (every connection is a socket, so a file descriptor)."""

from __future__ import annotations

import math
from collections.abc import Callable

from relaycli.errors import UsageError

RESERVED_FDS = 64  # stdio, the ledger and its journal, the selector, the resolver's sockets, ...
OPEN_LOOP_CAP = 256  # --rate without -c: at most this many in flight


def finite(flag: str, value: float | None) -> None:
    """``--rate nan``, ``--duration inf``: refused (exit 2) rather than failing halfway."""
    if value is not None and not math.isfinite(value):
        raise UsageError(f"{flag} {value}: expected a finite number")


def open_file_limit() -> int | None:
    """The soft limit on open files (``ulimit -n``); ``None`` where it is unknown or unlimited."""
    try:
        import resource
    except ImportError:  # not on every system
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else int(soft)


def concurrency_for(
    asked: int | None, *, rate: float | None, targets: int, limit: Callable[[], int | None] = open_file_limit
) -> int:
    """Requests in flight: ``-c`` as given, else 1 (closed loop) or up to ``OPEN_LOOP_CAP`` (open loop).

    Each target may hold up to that many connections, so ``-c`` times the targets must fit in the open-file
    limit (less a reserve): a ``-c`` past it is refused up front, a default is lowered to fit."""
    wanted = asked or (1 if rate is None else OPEN_LOOP_CAP)
    fds = limit()
    if fds is None:
        return wanted
    room = (fds - RESERVED_FDS) // max(targets, 1)
    if wanted <= room:
        return wanted
    if asked is None and room >= 1:
        return room
    per = f" for each of {targets} targets" if targets > 1 else ""
    raise UsageError(
        f"-c/--concurrency {wanted}: that many connections{per} need more files than this process may open "
        f"(limit {fds}, `ulimit -n`); use -c {max(room, 1)} or less, or raise the limit",
        hint=f"`ulimit -n {wanted * max(targets, 1) + RESERVED_FDS}` in the shell first",
    )
