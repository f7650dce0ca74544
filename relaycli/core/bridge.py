"""The synchronous request pipeline on an asyncio event loop, with no threads in between.

``relay stream`` and ``chat`` run one request on the main thread and block on the network. ``relay serve``
and ``relay batch`` run many at once; in worker threads they would pass the interpreter lock back and
forth at every read and write (a context switch or two per stream event). Instead each request runs in a
greenlet on the loop's own thread: ``run(fn)`` starts ``fn`` in one, and where the synchronous code has
to wait for the network it calls ``wait(awaitable)``, which switches to the loop's task, awaits there and
switches back with the result (or raises there what the await raised). ``core/loop_transport.py`` is the
httpx transport that waits so, which lets the one client core (``RelayClient``, ``ResponseStream``) send
through an asyncio connection pool unchanged. ``pause`` is ``time.sleep`` outside such a greenlet and an
``asyncio.sleep`` inside one, so a retry's backoff or a rate limit's wait never stops the loop.

Importing this module loads neither greenlet nor asyncio: ``run`` does.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["inside", "pause", "run", "wait"]

T = TypeVar("T")
_bridged: set[Any] = set()  # the greenlets ``run`` started that have not ended


async def run(fn: Callable[[], T], *, interrupt: Callable[[], BaseException] | None = None) -> T:
    """Run ``fn`` in a greenlet of its own on this loop's thread, awaiting what it hands to ``wait``.

    When this task is cancelled, ``interrupt()`` (default: the cancellation itself) is raised inside ``fn``
    where it waits, so it ends the way it would on Ctrl-C (a request recorded as interrupted); once it has
    ended, the cancellation goes on."""
    import asyncio

    import greenlet

    child = greenlet.greenlet(fn, greenlet.getcurrent())
    cancelled: asyncio.CancelledError | None = None
    _bridged.add(child)
    try:
        step: Any = child.switch()
        while not child.dead:
            try:
                value = await step
            except asyncio.CancelledError as exc:
                cancelled = exc
                step = child.throw(interrupt() if interrupt is not None else exc)
            except BaseException:  # noqa: BLE001 - raised inside fn, where it waited
                step = child.throw(*sys.exc_info())
            else:
                step = child.switch(value)
    except BaseException:
        if cancelled is not None:
            raise cancelled from None
        raise
    finally:
        _bridged.discard(child)
    if cancelled is not None:
        raise cancelled
    return step  # type: ignore[no-any-return]


def wait(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable`` on the loop, from synchronous code that ``run`` started."""
    import greenlet

    current = greenlet.getcurrent()
    if current not in _bridged:
        raise RuntimeError("bridge.wait() called outside bridge.run()")
    return current.parent.switch(awaitable)  # type: ignore[no-any-return]


def inside() -> bool:
    """Whether this code runs in a greenlet that ``run`` started."""
    if not _bridged:
        return False
    import greenlet

    return greenlet.getcurrent() in _bridged


def pause(seconds: float) -> None:
    """Sleep: on the loop (``asyncio.sleep``) inside ``run``, else ``time.sleep``."""
    if inside():
        import asyncio

        wait(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)
