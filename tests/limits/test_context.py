"""The context hands the client's retry waits to the shared guard, behind the pipeline's LazyGuard too."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.context import AppContext
from relaycli.datatypes import Notes
from relaycli.limits.guard import SharedGuard


def test_a_retry_waits_through_the_shared_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[tuple[str, float]] = []

    def retry_wait(self: SharedGuard, profile: Profile, seconds: float, notes: Notes | None = None) -> None:
        waited.append((profile.name, seconds))

    monkeypatch.setattr(SharedGuard, "retry_wait", retry_wait)
    ctx = AppContext(env={"RELAY_HOME": str(tmp_path)}, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    profile = ctx.profile("mock")
    key = ResolvedKey(None, "none")
    before = ctx.client(profile, key)  # before the pipeline exists
    before.transport.clocks.sleep(0.5)
    assert ctx.pipeline.guard is not ctx.guard()  # the pipeline holds a LazyGuard
    after = ctx.client(profile, key)
    after.transport.clocks.sleep(1.5)
    ctx.close()
    before.close()
    after.close()
    assert waited == [("mock", 0.5), ("mock", 1.5)]
