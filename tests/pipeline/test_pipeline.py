"""The request pipeline on its own: stages in order, the cache and guard seams, notes, concurrent callers.

Requests go to the session's local relay over a real loopback socket; the pipeline is built by the
context exactly as commands get it.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.cache.entry import Entry, Hit, TimedDelta
from relaycli.config.profile import Profile
from relaycli.context import AppContext
from relaycli.datatypes import ChatRequest, Delta, Message, Notes, Result, Usage
from relaycli.errors import BudgetExceeded, CacheMiss, NetworkError, RelayError, RelayTimeout
from relaycli.ledger import Ledger
from relaycli.pipeline import Ask, Pipeline
from relaycli.pipeline.request import CacheUse, partial_answer
from relaycli.pipeline.seams import Priority


def context(env: dict[str, str]) -> AppContext:
    return AppContext(env=env, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())


def ask(text: str = "hello") -> Ask:
    return Ask(model="gpt-4.1-mini", messages=(Message("user", text),))


def rows(env: dict[str, str]) -> list[tuple[str, str, str]]:
    with Ledger.open(Path(env["RELAY_HOME"]) / "ledger.db") as ledger:
        return [(r.command, r.profile, r.outcome) for r in reversed(ledger.recent(1000))]


class Collect:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, delta: Delta) -> None:
        if delta.kind == "text":
            self.texts.append(delta.text)


def test_one_request_streams_to_the_sink_and_writes_one_row(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    sink = Collect()
    answer = ctx.pipeline.run(ask(), sink, profile=ctx.profile("mock"), command="stream")
    ctx.close()
    assert "".join(sink.texts) == answer.result.text and answer.result.text.startswith("Mock answer")
    assert answer.cost_usd is not None and answer.cost_usd > 0 and not answer.cached
    assert rows(relay_env) == [("stream", "mock", "ok")]


class FakeCache:
    def __init__(self, hit: Hit | None) -> None:
        self.hit = hit
        self.looked: list[ChatRequest] = []
        self.stored: list[tuple[Result, list[TimedDelta], bool]] = []
        self.counted: list[Decimal | None] = []

    def lookup(self, profile: Profile, request: ChatRequest) -> Hit | None:
        self.looked.append(request)
        return self.hit

    def store(
        self,
        profile: Profile,
        request: ChatRequest,
        result: Result,
        deltas: Sequence[TimedDelta],
        *,
        cost_usd: Decimal | None,
        cost_billed: Decimal | None,
        counted: bool,
    ) -> None:
        self.stored.append((result, list(deltas), counted))

    def count_hit(self, hit: Hit, *, saved_usd: Decimal | None, saved_billed: Decimal | None, currency: str) -> None:
        self.counted.append(saved_usd)


def stored_hit(text: str = "from the cache") -> Hit:
    entry = Entry(
        key="k" * 64,
        profile="mock",
        model="gpt-4.1-mini",
        model_answered="gpt-4.1-mini",
        created=0.0,
        last_used=0.0,
        hits=0,
        size=100,
        finish_reason="stop",
        request_id="req-1",
        usage=Usage(5, 3),
        deltas=(
            TimedDelta(1.0, "reasoning", "thinking"),
            TimedDelta(2.0, "text", "from the "),
            TimedDelta(3.0, "text", "cache"),
        ),
        ttft_ms=2.0,
        latency_ms=3.0,
        cost_usd=Decimal("0.01"),
        cost_billed=Decimal("0.01"),
        currency="USD",
    )
    return Hit(entry=entry, age_s=12.0)


ON = CacheUse(read=True, write=True)


def test_a_cache_hit_is_replayed_through_the_sink_before_the_budget_and_without_a_request(
    relay_env: dict[str, str], mock_server: object
) -> None:
    ctx = context(relay_env)
    cache = FakeCache(stored_hit())
    ctx.pipeline.cache = cache
    spent = replace(ctx.profile("mock"), budget=Decimal(0), budget_action="block")  # a miss would be refused
    before = len(mock_server.log)  # type: ignore[attr-defined]
    sink = Collect()
    answer = ctx.pipeline.run(ask(), sink, profile=spent, command="stream", cache=ON)
    assert answer.cached and sink.texts == ["from the ", "cache"]  # delta by delta, not one block
    assert answer.result.text == "from the cache" and answer.cost_usd == 0
    assert answer.cache is not None and answer.cache.age_s == 12.0
    assert cache.looked[0].model == "gpt-4.1-mini" and cache.stored == []
    assert len(mock_server.log) == before  # type: ignore[attr-defined]  # nothing was sent
    with Ledger.open(Path(relay_env["RELAY_HOME"]) / "ledger.db") as ledger:
        (row,) = ledger.recent(5)
    # gpt-4.1-mini lists at $0.40 / $1.60 per 1M: 5 in, 3 out saved 5*0.4e-6 + 3*1.6e-6 = $0.0000068
    assert row.cached and row.cost_usd == 0 and row.saved_usd == Decimal("0.0000068")
    assert (row.prompt_tokens, row.completion_tokens, row.outcome) == (5, 3, "ok")
    assert cache.counted == [Decimal("0.0000068")]
    cache.hit = None
    with pytest.raises(BudgetExceeded):
        ctx.pipeline.run(ask(), sink, profile=spent, command="stream", cache=ON)
    ctx.close()


def test_without_cache_use_the_cache_is_not_asked(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    cache = FakeCache(stored_hit())
    ctx.pipeline.cache = cache
    answer = ctx.pipeline.run(ask(), Collect(), profile=ctx.profile("mock"), command="chat")
    ctx.close()
    assert not answer.cached and cache.looked == [] and cache.stored == []


def test_cache_only_fails_on_a_miss_without_sending(relay_env: dict[str, str], mock_server: object) -> None:
    ctx = context(relay_env)
    ctx.pipeline.cache = FakeCache(None)
    before = len(mock_server.log)  # type: ignore[attr-defined]
    with pytest.raises(CacheMiss, match="no stored answer"):
        ctx.pipeline.run(
            ask(), Collect(), profile=ctx.profile("mock"), command="stream", cache=CacheUse.from_flags(only=True)
        )
    ctx.close()
    assert len(mock_server.log) == before  # type: ignore[attr-defined]
    assert rows(relay_env) == []


def test_paced_replay_waits_for_each_delta_on_the_injected_clock(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    now = [0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += int(seconds * 1e9)

    ctx.pipeline.cache = FakeCache(stored_hit())
    ctx.pipeline.clock = lambda: now[0]
    ctx.pipeline.sleep = sleep
    answer = ctx.pipeline.run(
        ask(), Collect(), profile=ctx.profile("mock"), command="stream", cache=CacheUse(read=True, paced=True)
    )
    ctx.close()
    assert waits == [0.001, 0.001, 0.001] and answer.result.timing.latency_ms == 3.0


def test_a_miss_is_stored_after_its_row(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    cache = FakeCache(None)
    ctx.pipeline.cache = cache
    sink = Collect()
    answer = ctx.pipeline.run(ask(), sink, profile=ctx.profile("mock"), command="stream", cache=ON)
    ctx.close()
    ((result, deltas, counted),) = cache.stored
    assert result == answer.result and counted
    assert [d.text for d in deltas if d.kind == "text"] == sink.texts
    assert all(a.offset_ms <= b.offset_ms for a, b in zip(deltas, deltas[1:], strict=False))
    assert rows(relay_env) == [("stream", "mock", "ok")]


def test_errors_are_never_stored(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    cache = FakeCache(None)
    ctx.pipeline.cache = cache
    with pytest.raises(RelayError):
        ctx.pipeline.run(
            ask("[[mock: fail=400]] no"), Collect(), profile=ctx.profile("mock"), command="stream", cache=ON
        )
    ctx.close()
    assert cache.stored == []
    assert rows(relay_env) == [("stream", "mock", "error")]


class RecordingGuard:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.refuse = refuse or set()

    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> object:
        self.calls.append(("enter", profile.name))
        if profile.name in self.refuse:
            raise NetworkError(f"circuit open for {profile.name}")
        return profile.name

    def exit(self, permit: object, result: Result | None, error: BaseException | None) -> None:
        self.calls.append(("exit", f"{permit}" if error is None else f"{permit}:{type(error).__name__}"))

    def observe(self, profile: Profile, status: int, headers: Mapping[str, str]) -> None:
        self.calls.append(("observe", f"{profile.name}:{status}"))

    def retry_wait(self, profile: Profile, seconds: float, notes: Notes | None) -> None:
        self.calls.append(("retry_wait", profile.name))


def test_the_guard_wraps_every_attempt_and_a_refusal_moves_on_to_the_fallback(relay_env: dict[str, str]) -> None:
    from tests.integration.support import write_config

    write_config(
        relay_env,
        '[profiles.first]\nbase_url = "http://127.0.0.1:9/v1"\nfallback = ["mock"]\ndefault_model = "gpt-4.1-mini"\n',
    )
    ctx = context(relay_env)
    guard = RecordingGuard(refuse={"first"})
    ctx.pipeline.guard = guard
    notes: list[str] = []
    answer = ctx.pipeline.run(
        ask(),
        Collect(),
        profile=ctx.profile("first"),
        command="stream",
        notes=Notes(note=notes.append, warn=notes.append),
    )
    ctx.close()
    assert answer.profile.name == "mock"
    assert guard.calls == [("enter", "first"), ("enter", "mock"), ("observe", "mock:200"), ("exit", "mock")]
    # the refused attempt is in the ledger too: an error that sent nothing
    assert rows(relay_env) == [("stream", "first", "error"), ("stream", "mock", "ok")]
    assert notes == ["profile 'first' failed (circuit open for first); falling back to 'mock'"]
    assert ctx.stderr.getvalue() == ""  # type: ignore[attr-defined]  # the notes went where the caller said


def test_a_failure_after_content_was_shown_is_not_retried_elsewhere(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    guard = RecordingGuard()
    ctx.pipeline.guard = guard
    with pytest.raises(RelayError):
        ctx.pipeline.run(ask("[[mock: stop_after=3]] hi"), Collect(), profile=ctx.profile("mock"), command="stream")
    ctx.close()
    assert guard.calls == [("enter", "mock"), ("observe", "mock:200"), ("exit", "mock:TruncatedResponse")]
    assert rows(relay_env) == [("stream", "mock", "truncated")]


def test_an_exception_that_is_not_a_relay_error_still_leaves_an_error_row(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)

    def broken(delta: Delta) -> None:
        raise UnicodeEncodeError("ascii", "caf\xe9", 3, 4, "ordinal not in range")

    with pytest.raises(UnicodeEncodeError):
        ctx.pipeline.run(ask(), broken, profile=ctx.profile("mock"), command="stream")
    ctx.close()
    with Ledger.open(Path(relay_env["RELAY_HOME"]) / "ledger.db") as ledger:
        (row,) = ledger.recent(5)
    assert (row.outcome, row.error_class) == ("error", "UnicodeEncodeError")


def test_several_threads_share_one_pipeline(relay_env: dict[str, str]) -> None:
    """What ``relay batch`` and ``relay serve`` will do: one pipeline, requests in parallel, a row each."""
    ctx = context(relay_env)
    pipeline: Pipeline = ctx.pipeline
    profile = ctx.profile("mock")
    answers: list[str] = []
    failures: list[BaseException] = []

    def one(n: int) -> None:
        try:
            answers.append(pipeline.run(ask(f"q{n}"), Collect(), profile=profile, command="stream").result.text)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ctx.close()
    assert failures == [] and len(answers) == 16
    assert rows(relay_env) == [("stream", "mock", "ok")] * 16


class WaitingGuard(RecordingGuard):
    """A guard whose wait is cut short by Ctrl-C."""

    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> object:
        raise KeyboardInterrupt


def test_ctrl_c_while_waiting_for_the_guard_is_an_interrupted_row(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    ctx.pipeline.guard = WaitingGuard()
    with pytest.raises(KeyboardInterrupt):
        ctx.pipeline.run(ask(), Collect(), profile=ctx.profile("mock"), command="stream")
    ctx.close()
    assert rows(relay_env) == [("stream", "mock", "interrupted")]


class SlowGuard(RecordingGuard):
    """A guard that keeps the request waiting for its turn."""

    def enter(self, profile: Profile, request: ChatRequest, *, priority: Priority, notes: Notes) -> object:
        time.sleep(0.6)
        return profile.name


def test_a_wait_for_the_guard_counts_against_the_total_deadline(relay_env: dict[str, str]) -> None:
    from tests.integration.support import write_config

    write_config(relay_env, "[profiles.mock]\nretries = 0\ntimeout = { total = 1.0 }\n")
    ctx = context(relay_env)
    ctx.pipeline.guard = SlowGuard()
    started = time.monotonic()
    with pytest.raises(RelayTimeout):  # 0.6 s waiting + 0.6 s to the first token > 1 s in all
        ctx.pipeline.run(ask("[[mock: ttft=0.6]] hi"), Collect(), profile=ctx.profile("mock"), command="stream")
    ctx.close()
    assert time.monotonic() - started < 1.5


def test_threads_meeting_a_lazy_guard_at_once_get_one_guard() -> None:
    from relaycli.pipeline.seams import LazyGuard, NoGuard

    made: list[NoGuard] = []

    def make() -> NoGuard:
        time.sleep(0.01)  # long enough for every thread to arrive while the first is still making it
        made.append(NoGuard())
        return made[-1]

    lazy = LazyGuard(make)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(lazy.guard)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and all(guard is made[0] for guard in seen)


def test_ended_hears_of_a_complete_answer_before_its_row_is_written(relay_env: dict[str, str]) -> None:
    ctx = context(relay_env)
    heard: list[tuple[str, str | None, int, str]] = []

    def ended(result: Result, profile: Profile) -> None:
        heard.append((result.text, result.finish_reason, len(rows(relay_env)), profile.name))

    answer = ctx.pipeline.run(ask(), Collect(), profile=ctx.profile("mock"), command="serve", ended=ended)
    ctx.close()
    assert heard == [(answer.result.text, "stop", 0, "mock")]  # no row yet when it was told
    assert rows(relay_env) == [("serve", "mock", "ok")]


def test_ended_is_not_told_of_a_failed_answer_and_a_failing_hook_still_leaves_the_row(
    relay_env: dict[str, str],
) -> None:
    ctx = context(relay_env)
    heard: list[Result] = []
    with pytest.raises(RelayError):
        ctx.pipeline.run(
            ask("[[mock: stop_after=3]] hi"),
            Collect(),
            profile=ctx.profile("mock"),
            command="serve",
            ended=heard.append,
        )
    assert heard == []

    def broken(result: Result, profile: Profile) -> None:
        raise OSError("the client's side failed")

    cache = FakeCache(None)
    ctx.pipeline.cache = cache
    with pytest.raises(OSError) as raised:
        ctx.pipeline.run(ask(), Collect(), profile=ctx.profile("mock"), command="serve", ended=broken, cache=ON)
    ctx.close()
    assert rows(relay_env) == [("serve", "mock", "truncated"), ("serve", "mock", "ok")]
    assert len(cache.stored) == 1  # the answer was whole: stored all the same
    assert partial_answer(raised.value).result.finish_reason == "stop"  # and carried to the caller
