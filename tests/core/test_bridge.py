"""core/bridge.py: synchronous code run in greenlets on an event loop, awaiting there."""

from __future__ import annotations

import asyncio
import time

import pytest

from relaycli.core import bridge


def test_run_returns_what_the_function_returns_and_wait_gives_what_was_awaited() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 41

    def work() -> int:
        assert bridge.inside()
        return bridge.wait(answer()) + 1

    assert asyncio.run(bridge.run(work)) == 42
    assert not bridge.inside()


def test_what_an_await_raises_is_raised_where_the_function_waited() -> None:
    async def fails() -> None:
        raise ValueError("from the loop")

    def work() -> str:
        try:
            bridge.wait(fails())
        except ValueError as exc:
            return f"caught: {exc}"
        return "not raised"

    assert asyncio.run(bridge.run(work)) == "caught: from the loop"


def test_what_the_function_raises_comes_out_of_run() -> None:
    def work() -> None:
        bridge.wait(asyncio.sleep(0))
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        asyncio.run(bridge.run(work))


def test_wait_outside_run_is_an_error() -> None:
    async def nothing() -> None:
        return None

    coro = nothing()
    with pytest.raises(RuntimeError, match="outside"):
        bridge.wait(coro)
    coro.close()


def test_pause_inside_run_lets_the_loop_run_others_and_outside_it_sleeps() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(5):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    def napper() -> None:
        bridge.pause(0.2)

    async def main() -> float:
        start = time.monotonic()
        await asyncio.gather(bridge.run(napper), bridge.run(napper), bridge.run(napper), ticker())
        return time.monotonic() - start

    took = asyncio.run(main())
    assert took < 0.35  # three pauses of 0.2 s at once, not one after another
    assert len(ticks) == 5 and ticks[-1] - ticks[0] < 0.19  # the loop kept running meanwhile
    start = time.monotonic()
    bridge.pause(0.05)  # outside: a plain sleep
    assert time.monotonic() - start >= 0.05


def test_a_cancelled_task_raises_the_interruption_inside_and_then_is_cancelled() -> None:
    seen: list[str] = []

    class Stopped(Exception):
        pass

    def work() -> None:
        try:
            bridge.wait(asyncio.sleep(10))
        except Stopped:
            seen.append("interrupted")
            bridge.wait(asyncio.sleep(0))  # it may still wait while it ends (closing a response)
            seen.append("ended")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(bridge.run(work, interrupt=Stopped))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["interrupted", "ended"]
