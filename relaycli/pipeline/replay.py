"""The pipeline's side of the response cache: replaying a hit (``replay``), keeping a live answer's deltas
with their times for storing (``Recording``), and the ``--cache-only`` miss (``cache_miss``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from relaycli.cache.entry import Hit, TimedDelta
from relaycli.config.profile import Profile
from relaycli.datatypes import Delta, Notes, Result, Timing
from relaycli.errors import CacheMiss, OutputClosed
from relaycli.ledger import utc_timestamp
from relaycli.pipeline.recording import Recorder
from relaycli.pipeline.request import Answer, CacheInfo, attach_partial
from relaycli.pipeline.seams import ResponseCache

if TYPE_CHECKING:
    from relaycli.ledger import LedgerRow

__all__ = ["Recording", "cache_miss", "replay"]


def replay(
    hit: Hit,
    profile: Profile,
    model_asked: str,
    sink: Callable[[Delta], None],
    *,
    command: str,
    tag: str | None,
    notes: Notes,
    paced: bool,
    recorder: Recorder,
    cache: ResponseCache,
    clock: Callable[[], int],
    sleep: Callable[[float], None],
    now: datetime,
) -> Answer:
    """Send a stored answer's deltas through ``sink`` (at once, or at their original pace with ``paced``),
    and write its ledger row: cost 0, the tokens as first reported, the saving."""
    entry = hit.entry
    start = clock()
    timing = Timing(started_at=utc_timestamp(now), t_start=start, t_send=start, t_headers=start)
    text: list[str] = []

    def row(outcome: str, error: BaseException | None) -> tuple[Answer, LedgerRow]:
        timing.t_end = timing.t_last_token = clock()
        done = outcome == "ok"
        result = Result(
            text="".join(text),
            model=entry.model_answered,
            finish_reason=entry.finish_reason if done else None,
            usage=entry.usage,
            request_id=entry.request_id,
            timing=timing,
            complete=done,
        )
        written, _ = recorder.record(
            command=command,
            profile=profile,
            model_requested=model_asked,
            result=result,
            outcome=outcome,
            error=error,
            tag=tag,
            warn=notes.warn,
            cached=True,
        )
        info = CacheInfo(key=entry.key, age_s=hit.age_s, saved_usd=written.saved_usd, saved_billed=written.saved_billed)
        answer = Answer(
            result=result,
            profile=profile,
            model_asked=model_asked,
            cost_usd=Decimal(0),
            billed=Decimal(0),
            cached=True,
            cache=info,
        )
        return answer, written

    try:
        for piece in entry.deltas:
            if paced:
                wait = start + int(piece.offset_ms * 1e6) - clock()
                if wait > 0:
                    sleep(wait / 1e9)
            if timing.t_first_token is None:
                timing.t_first_token = clock()
            sink(piece.delta())
            if piece.kind == "text":
                text.append(piece.text)
    except (KeyboardInterrupt, OutputClosed) as exc:
        attach_partial(exc, row("interrupted", None)[0])
        raise
    except BaseException as exc:
        attach_partial(exc, row("error", exc)[0])
        raise
    answer, written = row("ok", None)
    cache.count_hit(
        hit, saved_usd=written.saved_usd, saved_billed=written.saved_billed, currency=profile.billing.currency
    )
    return answer


class Recording:
    """The deltas of a live answer with their times (ms after the attempt began), for the cache. A
    ``restart`` (the request sent again) voids what came before it."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.start = clock()
        self.deltas: list[TimedDelta] = []

    def add(self, delta: Delta) -> None:
        if delta.kind == "restart":
            self.deltas.clear()
            self.start = self.clock()  # time the attempt that answered, not the ones before it
        elif delta.text:
            self.deltas.append(TimedDelta(round((self.clock() - self.start) / 1e6, 3), delta.kind, delta.text))


def cache_miss(profile: Profile, model: str) -> CacheMiss:
    if not profile.cache:
        return CacheMiss(
            f"--cache-only: profile {profile.name!r} does not use the response cache (cache = false)",
            hint=f"remove `cache = false` from [profiles.{profile.name}], or drop --cache-only",
        )
    return CacheMiss(
        f"--cache-only: no stored answer to this request on profile {profile.name!r} (model {model})",
        hint="run it without --cache-only to ask the endpoint (the answer is then stored)",
    )
