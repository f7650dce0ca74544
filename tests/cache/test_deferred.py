"""The deferred cache (``relay batch``, ``relay serve``): answers stored off the request path in batches; a
queued answer is already a hit; every miss counted once; nothing lost at close."""

from __future__ import annotations

import threading
from pathlib import Path

from relaycli.cache.service import DiskCache
from relaycli.cache.store import CacheStore
from relaycli.config.cache import CacheSettings
from tests.cache.test_store import PROFILE, Clock, deltas_of, request, result


def _cache(path: Path, **options: float) -> DiskCache:
    return DiskCache(path, CacheSettings(), warn=_no_warnings, clock=Clock(), deferred=True, **options)  # type: ignore[arg-type]


def _no_warnings(message: str) -> None:
    raise AssertionError(message)


def _store(cache: DiskCache, text: str) -> None:
    cache.store(
        PROFILE,
        request(text),
        result(f"answer to {text}"),
        deltas_of("an answer"),
        cost_usd=None,
        cost_billed=None,
        counted=True,
    )


def test_a_queued_answer_is_a_hit_and_close_stores_it(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    cache = _cache(path, every_s=60.0)  # the writer would wait a minute: only close stores it
    _store(cache, "one")
    hit = cache.lookup(PROFILE, request("one"))
    assert hit is not None and hit.entry.finish_reason == "stop"
    cache.close()
    store = CacheStore.open(path)
    try:
        assert len(store.entries()) == 1
        assert store.stats().misses == 1
    finally:
        store.close()


def test_many_threads_store_each_answer_once_and_count_each_miss_once(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    cache = _cache(path, every_s=0.001, batch_entries=8)

    def work(first: int) -> None:
        for i in range(first, first + 50):
            _store(cache, f"question {i}")
            if i % 10 == 0:
                cache.flush()  # a flush racing the writer thread

    threads = [threading.Thread(target=work, args=(n * 50,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(cache.lookup(PROFILE, request(f"question {i}")) is not None for i in range(200))
    cache.close()
    store = CacheStore.open(path)
    try:
        assert len(store.entries()) == 200
        assert store.stats().misses == 200
    finally:
        store.close()


def test_an_answer_after_a_quiet_spell_is_stored_within_every_s(tmp_path: Path) -> None:
    """The writer sleeps while nothing is queued; the next answer wakes it (not only a full batch)."""
    import time

    path = tmp_path / "cache.db"
    cache = _cache(path, every_s=0.02)
    try:
        for expected in (1, 2):  # the first answer starts the writer; the second comes after it went idle
            _store(cache, f"question {expected}")
            deadline = time.monotonic() + 5
            store = CacheStore.open(path)  # another process's view
            try:
                while len(store.entries()) < expected and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert len(store.entries()) == expected
            finally:
                store.close()
            time.sleep(0.1)
    finally:
        cache.close()
