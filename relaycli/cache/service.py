"""``DiskCache``: the response cache the pipeline asks (its ``ResponseCache`` seam), over ``CacheStore``.

Never in the way: a cache that cannot be opened, read or written (damaged, locked, from a newer relay, a
full disk) is one warning on stderr and a miss; after that the cache is left alone for the rest of the run.
A single damaged entry is a warning (once per run) and a miss: the answer asked for again replaces it.
Time comes from an injected clock (Unix seconds), so expiry is testable without waiting.

``deferred`` (``relay batch``, ``relay serve``): answers are stored off the request path, by one thread,
in one transaction per batch; an answer still queued is already a hit, and ``close`` stores what is left.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from relaycli.cache.entry import Entry, Hit, TimedDelta
from relaycli.cache.key import cache_key
from relaycli.cache.store import CacheStore, CacheUnavailable, DamagedEntry
from relaycli.config.cache import CacheSettings
from relaycli.config.profile import Profile
from relaycli.datatypes import ChatRequest, Result

__all__ = ["DiskCache"]

_KEYS_KEPT = 256  # misses whose answer has not been stored (or never will be: a failure) before a reset


class DiskCache:
    def __init__(
        self,
        path: Path,
        settings: CacheSettings,
        *,
        warn: Callable[[str], None],
        clock: Callable[[], float] = time.time,
        deferred: bool = False,
        every_s: float = 0.1,
        batch_entries: int = 64,
    ) -> None:
        self.path = path
        self.settings = settings
        self._warn = warn
        self._clock = clock
        self._store: CacheStore | None = None
        self._off = False
        self._warned_damaged = False
        self._lock = threading.Lock()
        self._deferred = deferred
        self._every_s = every_s
        self._batch_entries = batch_entries
        self._pending: dict[str, tuple[Entry, bool]] = {}  # key -> (entry, counted), waiting to be written
        # the key a lookup worked out, by request, so that storing its answer does not work it out again
        self._keys: dict[int, tuple[Profile, ChatRequest, str | None]] = {}
        self._wake = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closing = False
        self._batch_lock = threading.Lock()

    # -- the seam --------------------------------------------------------------------------------
    def lookup(self, profile: Profile, request: ChatRequest) -> Hit | None:
        key = cache_key(profile, request)
        hit = self._look(key)
        if hit is None:  # for ``store``, once the request is answered (a hit is never stored again)
            if len(self._keys) >= _KEYS_KEPT:
                self._keys.clear()
            self._keys[id(request)] = (profile, request, key)
        return hit

    def _look(self, key: str | None) -> Hit | None:
        if key is not None and self._pending:
            with self._wake:
                queued = self._pending.get(key)
            if queued is not None:
                return self._fresh(queued[0])
        store = self._open() if key is not None else None
        if store is None or key is None:
            return None
        try:
            entry = store.get(key)
        except DamagedEntry as exc:  # a row SQLite reads but relay cannot: a miss, replaced by the new answer
            with self._lock:
                warned, self._warned_damaged = self._warned_damaged, True
            if not warned:
                self._warn(_line("response cache entry skipped", exc))
            return None
        except CacheUnavailable as exc:
            self._give_up(exc)
            return None
        if entry is None:
            return None
        return self._fresh(entry)

    def _fresh(self, entry: Entry) -> Hit | None:
        age = max(self._clock() - entry.created, 0.0)
        if age > self.settings.ttl_s:
            return None
        return Hit(entry=entry, age_s=age)

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
        if not result.complete or result.finish_reason is None:
            return  # only whole answers: a stream that ended without saying why is not one
        known = self._keys.pop(id(request), None)
        key = known[2] if known is not None and known[0] is profile and known[1] is request else None
        key = key or cache_key(profile, request)
        store = self._open() if key is not None else None
        if store is None or key is None:
            return
        prompt = json.dumps(
            {"system": request.system, "messages": [[m.role, m.content] for m in request.messages]},
            ensure_ascii=False,
        )
        size = len(prompt.encode()) + sum(len(d.text.encode()) + 16 for d in deltas) + 256
        if size > self.settings.max_size // 4:
            return  # one answer may not push out a quarter of the cache
        now = self._clock()
        timing = result.timing
        entry = Entry(
            key=key,
            profile=profile.name,
            model=request.model,
            model_answered=result.model,
            created=now,
            last_used=now,
            hits=0,
            size=size,
            finish_reason=result.finish_reason,
            request_id=result.request_id,
            usage=result.usage,
            deltas=tuple(deltas),
            ttft_ms=timing.ttft_ms,
            latency_ms=timing.latency_ms,
            cost_usd=cost_usd,
            cost_billed=cost_billed,
            currency=profile.billing.currency,
            prompt=prompt,
        )
        if self._deferred:
            self._enqueue(entry, counted)
            return
        try:
            store.put(entry, max_size=self.settings.max_size, counted=counted)
        except CacheUnavailable as exc:
            self._give_up(exc, doing="answer not cached")

    def count_hit(self, hit: Hit, *, saved_usd: Decimal | None, saved_billed: Decimal | None, currency: str) -> None:
        store = self._open()
        if store is None:
            return
        try:
            store.hit(
                hit.entry.key, now=self._clock(), saved_usd=saved_usd, saved_billed=saved_billed, currency=currency
            )
        except CacheUnavailable as exc:
            self._give_up(exc, doing="cache hit not counted")

    def flush(self) -> None:
        """Store every queued answer now (deferred mode)."""
        self._write_batch()

    def close(self) -> None:
        if self._deferred:
            with self._wake:
                self._closing = True
                self._wake.notify_all()
            if self._writer is not None:
                self._writer.join()
            self.flush()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- deferred storing --------------------------------------------------------------------------
    def _enqueue(self, entry: Entry, counted: bool) -> None:
        with self._wake:
            self._pending[entry.key] = (entry, counted)
            if self._writer is None:
                self._writer = threading.Thread(target=self._drain, name="relay-cache", daemon=True)
                self._writer.start()
            if (
                len(self._pending) == 1 or len(self._pending) >= self._batch_entries
            ):  # the writer sleeps until an answer comes
                self._wake.notify_all()

    def _drain(self) -> None:
        while True:
            with self._wake:
                if not self._pending and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return  # close() stores the rest
                if len(self._pending) < self._batch_entries:
                    self._wake.wait(self._every_s)
            self._write_batch()

    def _write_batch(self) -> None:
        """Store what is queued; only then are those entries no longer pending (a lookup meanwhile finds
        them). One batch at a time, so no entry is stored (or its miss counted) twice."""
        with self._batch_lock:
            with self._wake:
                batch = list(self._pending.values())
            if batch:
                self._store_batch(batch)

    def _store_batch(self, batch: list[tuple[Entry, bool]]) -> None:
        store = self._open()
        if store is not None:
            try:
                store.put_many(batch, max_size=self.settings.max_size)
            except CacheUnavailable as exc:
                self._give_up(exc, doing="answers not cached")
        with self._wake:
            for entry, _ in batch:
                if self._pending.get(entry.key, (None,))[0] is entry:
                    del self._pending[entry.key]

    # -- plumbing --------------------------------------------------------------------------------
    def _open(self) -> CacheStore | None:
        store = self._store
        if store is not None:  # open already: no lock for the common case (many threads in relay batch)
            return store
        with self._lock:
            if self._store is None and not self._off:
                try:
                    self._store = CacheStore.open(self.path)
                except CacheUnavailable as exc:
                    self._off = True
                    self._warn(_line("response cache skipped", exc))
            return self._store

    def _give_up(self, exc: CacheUnavailable, *, doing: str = "response cache skipped") -> None:
        with self._lock:
            if self._off:
                return
            self._off = True
            if self._store is not None:
                self._store.close()
                self._store = None
        self._warn(_line(doing, exc))


def _line(doing: str, exc: CacheUnavailable) -> str:
    hint = f"; {exc.hint}" if exc.hint else ""
    return f"{doing}: {exc.message}{hint}"
