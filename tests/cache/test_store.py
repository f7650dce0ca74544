"""``cache.db`` and ``DiskCache``: private files, exact round trips, expiry, eviction within ``max_size``,
and a cache that is damaged, locked, too new or unwritable costing one warning and a miss, never a failure."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from relaycli.cache.entry import Entry, TimedDelta
from relaycli.cache.service import DiskCache
from relaycli.cache.store import BUSY_TIMEOUT_MS, CacheStore
from relaycli.config.cache import MIN_SIZE, CacheSettings
from relaycli.config.profile import Billing, Profile
from relaycli.datatypes import ChatRequest, Message, Result, Timing, Usage

BOUND_S = 2 * BUSY_TIMEOUT_MS / 1000 + 2  # one busy timeout is waited for, then the cache is off; slack for load
PROFILE = Profile(name="relay", base_url="http://127.0.0.1:9/v1", billing=Billing("EUR", Decimal("0.9")))
KIB = 1024


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def request(text: str = "What is HTTP/2?") -> ChatRequest:
    return ChatRequest(model="gpt-4.1-mini", messages=(Message("user", text),))


def result(text: str = "It is a protocol.", **changes: Any) -> Result:
    base: dict[str, Any] = {
        "text": text,
        "model": "gpt-4.1-mini-2025-04-14",
        "finish_reason": "stop",
        "usage": Usage(12, 5, raw={"prompt_tokens": 12, "completion_tokens": 5}),
        "request_id": "req_1",
        "timing": Timing(t_send=0, t_first_token=40_000_000, t_end=90_000_000),
    }
    base.update(changes)
    return Result(**base)


def deltas_of(text: str) -> list[TimedDelta]:
    words = text.split(" ")
    return [TimedDelta(10.0 + i, "text", (" " if i else "") + w) for i, w in enumerate(words)]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Harness:
    """A DiskCache on a test path, its warnings and its clock."""

    def __init__(self, path: Path, settings: CacheSettings | None = None) -> None:
        self.path = path
        self.clock = Clock()
        self.warnings: list[str] = []
        self.cache = DiskCache(path, settings or CacheSettings(), warn=self.warnings.append, clock=self.clock)

    def store(self, text: str, answer: str = "It is a protocol.", **changes: Any) -> None:
        cost = changes.pop("cost_usd", Decimal("0.00001"))
        self.cache.store(
            PROFILE,
            request(text),
            result(answer, **changes),
            deltas_of(answer),
            cost_usd=cost,
            cost_billed=None if cost is None else cost * Decimal("0.9"),
            counted=True,
        )

    def hit(self, text: str) -> bool:
        """A lookup, and (as the pipeline does after replaying it) the hit counted."""
        found = self.cache.lookup(PROFILE, request(text))
        if found is None:
            return False
        self.cache.count_hit(
            found, saved_usd=found.entry.cost_usd, saved_billed=found.entry.cost_billed, currency="EUR"
        )
        return True

    def reopen(self) -> None:
        self.cache.close()
        self.cache = DiskCache(self.path, self.cache.settings, warn=self.warnings.append, clock=self.clock)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "home" / "cache" / "cache.db"


@pytest.fixture
def harness(db: Path) -> Iterator[Harness]:
    made = Harness(db)
    yield made
    made.cache.close()


def full_entry(key: str = "a" * 64, **changes: Any) -> Entry:
    base: dict[str, Any] = {
        "key": key,
        "profile": "holysheep",
        "model": "o4-mini",
        "model_answered": "o4-mini-2025-04-16",
        "created": 1_800_000_000.125,
        "last_used": 1_800_000_100.5,
        "hits": 3,
        "size": 1234,
        "finish_reason": "length",
        "request_id": "req_abc",
        "usage": Usage(
            prompt_tokens=1200,
            completion_tokens=345,
            cached_tokens=1000,
            cache_write_tokens=150,
            cache_write_1h_tokens=50,
            raw={"input_tokens": 50, "nested": {"list": [1, 2.5, None, "é"]}, "flag": True},
        ),
        "deltas": (
            TimedDelta(0.125, "reasoning", "thinking…"),
            TimedDelta(12.5, "reasoning", " more"),
            TimedDelta(40.001, "text", "Zwei "),
            TimedDelta(41.0, "text", "Wörter 🚀\n"),
            TimedDelta(1234567.891, "text", '"quoted" \\ back'),
        ),
        "ttft_ms": 40.001,
        "latency_ms": 1234567.9,
        "cost_usd": Decimal("0.0000123456789012"),
        "cost_billed": Decimal("0.00008901234567890"),
        "currency": "CNY",
        "prompt": '{"system": null, "messages": [["user", "hi"]]}',
    }
    base.update(changes)
    return Entry(**base)


# -- files ----------------------------------------------------------------------------------------------


def test_the_file_its_wal_and_shm_are_private_and_so_is_the_folder(db: Path) -> None:
    old = os.umask(0)  # nothing from the process's umask: the store itself must make them private
    try:
        store = CacheStore.open(db)
        store.put(full_entry(), max_size=10 * 1000**2, counted=True)
        files = {p.name: mode(p) for p in db.parent.iterdir()}
        assert files == {"cache.db": 0o600, "cache.db-wal": 0o600, "cache.db-shm": 0o600}
        assert mode(db.parent) == 0o700
        store.close()
    finally:
        os.umask(old)


def test_loose_existing_files_and_folder_are_tightened(db: Path) -> None:
    CacheStore.open(db).close()
    db.chmod(0o644)
    db.parent.chmod(0o755)
    store = CacheStore.open(db)
    try:
        assert mode(db) == 0o600 and mode(db.parent) == 0o700
    finally:
        store.close()


# -- round trips ----------------------------------------------------------------------------------------


def test_every_field_of_an_entry_survives_a_round_trip(db: Path) -> None:
    entry = full_entry()
    sparse = full_entry(
        key="b" * 64,
        model_answered=None,
        finish_reason="stop",
        request_id=None,
        usage=Usage(),
        deltas=(),
        ttft_ms=None,
        latency_ms=None,
        cost_usd=None,
        cost_billed=None,
        prompt=None,
    )
    store = CacheStore.open(db)
    store.put(entry, max_size=10 * 1000**2, counted=True)
    store.put(sparse, max_size=10 * 1000**2, counted=True)
    store.close()
    reopened = CacheStore.open(db)
    try:
        got = reopened.get(entry.key)
        assert got == entry
        assert got is not None and isinstance(got.cost_usd, Decimal) and str(got.cost_usd) == "0.0000123456789012"
        assert got.usage.raw == entry.usage.raw and got.deltas[0].kind == "reasoning"
        assert got.text == 'Zwei Wörter 🚀\n"quoted" \\ back'
        assert reopened.get(sparse.key) == sparse
        assert reopened.get("c" * 64) is None
    finally:
        reopened.close()


def test_disk_cache_stores_and_finds_an_answer_with_its_pieces_and_costs(harness: Harness) -> None:
    reasoning_first = [TimedDelta(5.0, "reasoning", "hmm"), *deltas_of("It is a protocol.")]
    harness.cache.store(
        PROFILE,
        request(),
        result(),
        reasoning_first,
        cost_usd=Decimal("0.0000123"),
        cost_billed=Decimal("0.00001107"),
        counted=True,
    )
    harness.clock.now += 30
    harness.reopen()
    hit = harness.cache.lookup(PROFILE, request())
    assert hit is not None and hit.age_s == pytest.approx(30)
    e = hit.entry
    assert e.text == "It is a protocol." and list(e.deltas) == reasoning_first
    assert (e.model, e.model_answered, e.finish_reason, e.request_id) == (
        "gpt-4.1-mini",
        "gpt-4.1-mini-2025-04-14",
        "stop",
        "req_1",
    )
    assert e.usage == result().usage
    assert (e.ttft_ms, e.latency_ms) == (40.0, 90.0)
    assert (e.cost_usd, e.cost_billed, e.currency, e.profile) == (
        Decimal("0.0000123"),
        Decimal("0.00001107"),
        "EUR",
        "relay",
    )
    assert harness.cache.lookup(PROFILE, request("another question")) is None
    assert harness.warnings == []


def test_storing_again_replaces_the_answer(harness: Harness) -> None:
    harness.store("q", "first answer")
    harness.store("q", "second answer")
    hit = harness.cache.lookup(PROFILE, request("q"))
    assert hit is not None and hit.entry.text == "second answer"


# -- expiry ---------------------------------------------------------------------------------------------


def test_an_entry_is_a_hit_until_its_ttl_and_a_miss_after(db: Path) -> None:
    harness = Harness(db, CacheSettings(ttl_s=3600))
    harness.store("q")
    harness.clock.now += 3599
    hit = harness.cache.lookup(PROFILE, request("q"))
    assert hit is not None and hit.age_s == pytest.approx(3599)
    harness.clock.now += 2
    assert harness.cache.lookup(PROFILE, request("q")) is None
    harness.store("q")  # asked again: a fresh entry
    assert harness.cache.lookup(PROFILE, request("q")) is not None
    harness.cache.close()


def test_a_hit_does_not_extend_the_ttl(db: Path) -> None:
    harness = Harness(db, CacheSettings(ttl_s=100))
    harness.store("q")
    harness.clock.now += 40
    assert harness.hit("q")
    harness.clock.now += 40
    assert harness.hit("q")
    harness.clock.now += 40
    assert not harness.hit("q")  # 120 s after it was stored, however often it was used since
    harness.cache.close()


# -- eviction -------------------------------------------------------------------------------------------


def test_eviction_keeps_the_file_within_max_size_and_the_recently_used_entries(db: Path) -> None:
    max_size = 64 * KIB
    harness = Harness(db, CacheSettings(max_size=max_size))
    answer = " ".join(f"word{n:04d}" for n in range(100))  # about 1 KB
    harness.store("q0", answer)
    for i in range(1, 120):
        harness.clock.now += 1
        harness.store(f"q{i}", answer)
        if i % 3 == 0:
            harness.clock.now += 1
            assert harness.hit("q0"), f"q0 was evicted by q{i} although it was used after every three"
    harness.cache.close()
    assert db.stat().st_size <= max_size
    assert not Path(f"{db}-wal").exists() or db.stat().st_size + Path(f"{db}-wal").stat().st_size <= max_size
    harness.reopen()
    survivors = [i for i in range(120) if harness.cache.lookup(PROFILE, request(f"q{i}")) is not None]
    assert 0 in survivors and 119 in survivors and 118 in survivors
    assert 1 not in survivors and 2 not in survivors and 60 not in survivors
    newest = [i for i in survivors if i]
    assert newest == list(range(newest[0], 120)), "the least recently used go first"
    assert len(newest) >= 5
    harness.cache.close()


@pytest.mark.parametrize("answer_bytes", [3000, 12_000, 15_000])  # a quarter of MIN_SIZE is 16 KiB
def test_at_the_smallest_max_size_the_answer_just_stored_is_always_kept(db: Path, answer_bytes: int) -> None:
    harness = Harness(db, CacheSettings(max_size=MIN_SIZE))
    answer = " ".join(["x" * 299] * (answer_bytes // 300))
    for i in range(12):
        harness.clock.now += 1
        harness.store(f"q{i}", answer)
        assert harness.cache.lookup(PROFILE, request(f"q{i}")) is not None, f"q{i} was evicted by its own storing"
    harness.cache.close()
    assert db.stat().st_size <= MIN_SIZE
    assert harness.warnings == []


def test_an_answer_larger_than_a_quarter_of_max_size_is_not_stored(db: Path) -> None:
    harness = Harness(db, CacheSettings(max_size=64 * KIB))
    harness.store("small", "a small answer")
    huge = " ".join(["lorem"] * 4000)  # 24 KB, more than 16 KiB
    harness.store("huge", huge)
    assert harness.cache.lookup(PROFILE, request("huge")) is None
    assert harness.cache.lookup(PROFILE, request("small")) is not None  # and it pushed nothing out
    assert harness.warnings == []
    harness.cache.close()


# -- what is stored ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"complete": False}, {"finish_reason": None}, {"complete": False, "finish_reason": "stop"}],
    ids=["incomplete", "no-finish-reason", "incomplete-with-a-reason"],
)
def test_only_complete_answers_are_stored(harness: Harness, changes: dict[str, Any]) -> None:
    harness.store("q", "half an ans", **changes)
    assert harness.cache.lookup(PROFILE, request("q")) is None
    harness.reopen()
    assert harness.cache.lookup(PROFILE, request("q")) is None


def test_a_request_that_has_no_key_is_neither_looked_up_nor_stored(harness: Harness) -> None:
    odd = ChatRequest(model="gpt-4.1-mini", messages=(Message("user", "q"),), params={"top_p": float("nan")})
    assert harness.cache.lookup(PROFILE, odd) is None
    harness.cache.store(PROFILE, odd, result(), deltas_of("x"), cost_usd=None, cost_billed=None, counted=True)
    assert harness.cache.lookup(PROFILE, odd) is None and harness.warnings == []


def test_another_profile_on_the_same_endpoint_finds_the_answer(harness: Harness) -> None:
    harness.store("q")
    other = Profile(name="other", base_url=PROFILE.base_url)
    assert harness.cache.lookup(other, request("q")) is not None
    moved = Profile(name="relay", base_url="http://127.0.0.1:10/v1")
    assert harness.cache.lookup(moved, request("q")) is None


# -- stats ---------------------------------------------------------------------------------------------------


def test_stats_count_hits_misses_and_savings_per_currency(db: Path) -> None:
    harness = Harness(db)
    harness.store("a", cost_usd=Decimal("0.001"))
    harness.store("b", cost_usd=None)  # an unpriced model
    harness.cache.store(
        PROFILE, request("c"), result(), deltas_of("x"), cost_usd=Decimal("1"), cost_billed=None, counted=False
    )  # a --refresh: no lookup before it, so not a miss
    for _ in range(3):
        assert harness.hit("a")
    assert harness.hit("b")
    assert not harness.hit("never stored")
    harness.cache.close()
    store = CacheStore.open(db)
    try:
        stats = store.stats()
    finally:
        store.close()
    assert (stats.entries, stats.hits, stats.misses) == (3, 4, 2)
    assert stats.saved_usd == Decimal("0.003") and stats.saved_unknown == 1
    assert stats.saved_billed == {"EUR": Decimal("0.0027")}
    assert stats.hit_rate == pytest.approx(4 / 6)
    assert stats.oldest == stats.newest == 1_800_000_000.0
    assert stats.file_bytes >= db.stat().st_size > 0


def test_a_hit_is_counted_on_its_entry(harness: Harness) -> None:
    harness.store("q")
    assert harness.hit("q") and harness.hit("q")
    hit = harness.cache.lookup(PROFILE, request("q"))
    assert hit is not None and hit.entry.hits == 2


# -- a cache in trouble ----------------------------------------------------------------------------------------


def one_warning(harness: Harness, *words: str) -> str:
    assert len(harness.warnings) == 1, harness.warnings
    (line,) = harness.warnings
    assert "\n" not in line and "Traceback" not in line
    for word in words:
        assert word in line, line
    return line


def test_a_garbage_file_is_one_warning_and_a_miss_and_is_left_alone(harness: Harness, db: Path) -> None:
    db.parent.mkdir(parents=True)
    garbage = random.Random(7).randbytes(16 * KIB)
    db.write_bytes(garbage)
    assert harness.cache.lookup(PROFILE, request()) is None
    harness.store("What is HTTP/2?")  # does not raise
    assert harness.cache.lookup(PROFILE, request()) is None
    one_warning(harness, "damaged", str(db), "relay cache clear")
    harness.cache.close()
    assert db.read_bytes() == garbage


def test_a_cache_from_a_newer_relay_is_refused_untouched(harness: Harness, db: Path) -> None:
    harness.store("q")
    harness.cache.close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db.read_bytes()
    harness.reopen()
    assert harness.cache.lookup(PROFILE, request("q")) is None
    harness.store("q", "a newer answer")
    one_warning(harness, "newer relay")
    harness.cache.close()
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["cache.db"]


def test_a_file_that_is_another_programs_database_is_left_alone(harness: Harness, db: Path) -> None:
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    before = db.read_bytes()
    assert harness.cache.lookup(PROFILE, request()) is None
    harness.store("What is HTTP/2?")
    one_warning(harness, "not relay's response cache")
    harness.cache.close()
    assert db.read_bytes() == before


def hold_lock(db: Path) -> sqlite3.Connection:
    """Another process's connection that holds the file exclusively (WAL readers are not blocked by a plain
    write transaction; this blocks them too)."""
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_locked_cache_is_a_warning_and_a_miss_within_the_busy_timeout(harness: Harness, db: Path) -> None:
    harness.store("q")
    harness.cache.close()
    holder = hold_lock(db)
    try:
        harness.reopen()
        started = time.monotonic()
        assert harness.cache.lookup(PROFILE, request("q")) is None
        harness.store("q", "another answer")
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    one_warning(harness, "locked")
    assert elapsed < BOUND_S, f"a locked cache held the request up for {elapsed:.1f} s"
    harness.reopen()
    hit = harness.cache.lookup(PROFILE, request("q"))
    assert hit is not None and hit.entry.text == "It is a protocol."  # the locked run changed nothing


def test_a_cache_locked_after_the_lookup_costs_only_the_store(harness: Harness, db: Path) -> None:
    assert harness.cache.lookup(PROFILE, request("q")) is None  # opened, a miss
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer, for longer than the busy timeout
    try:
        started = time.monotonic()
        harness.store("q")
        elapsed = time.monotonic() - started
    finally:
        holder.close()
    one_warning(harness, "answer not cached", "locked")
    assert elapsed < BOUND_S
    harness.store("q")  # the cache stays off for the rest of the run: no second warning
    assert len(harness.warnings) == 1


def test_threads_sharing_one_disk_cache(harness: Harness) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                harness.store(f"t{n}-{i}")
                assert harness.hit(f"t{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and harness.warnings == []


def test_a_folder_that_cannot_be_made_is_a_warning_and_a_miss(tmp_path: Path) -> None:
    blocker = tmp_path / "home" / "cache"
    blocker.parent.mkdir()
    blocker.write_text("a file where the cache folder goes")
    harness = Harness(blocker / "cache.db")
    assert harness.cache.lookup(PROFILE, request()) is None
    harness.store("What is HTTP/2?")
    one_warning(harness, "response cache")
    assert blocker.read_text() == "a file where the cache folder goes"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_an_unwritable_cache_folder_is_a_warning_and_a_miss(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.parent.chmod(0o500)
    try:
        harness = Harness(db)
        assert harness.cache.lookup(PROFILE, request()) is None
        harness.store("What is HTTP/2?")
        assert harness.cache.lookup(PROFILE, request()) is None
        one_warning(harness, "response cache")
        harness.cache.close()
    finally:
        db.parent.chmod(0o700)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_cache_file_costs_at_most_one_warning(harness: Harness, db: Path) -> None:
    harness.store("q")
    harness.cache.close()
    db.chmod(0o400)
    try:
        harness.reopen()
        harness.cache.lookup(PROFILE, request("q"))  # a hit or a miss, as SQLite manages: never an exception
        harness.store("r")
        harness.store("s")
        assert len(harness.warnings) <= 1
    finally:
        db.chmod(0o600)
        harness.cache.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("deltas", "{not json"),
        ("deltas", '[[1.0, "text"]]'),
        ("deltas", '{"a": 1}'),
        ("usage", "[1, 2"),
        ("cost_usd", "twelve cents"),
        ("cost_billed", "NaN?"),
        ("created", "yesterday"),
        ("hits", "many"),
    ],
)
def test_a_damaged_entry_is_a_warning_and_a_miss_and_a_new_answer_replaces_it(
    harness: Harness, db: Path, column: str, value: str
) -> None:
    harness.store("q")
    harness.store("other")
    harness.cache.close()
    with sqlite3.connect(db) as conn:
        first = "(SELECT key FROM entries ORDER BY rowid LIMIT 1)"  # the answer to "q"
        assert conn.execute(f"UPDATE entries SET {column} = ? WHERE key = {first}", (value,)).rowcount == 1
    conn.close()
    harness.reopen()
    assert harness.cache.lookup(PROFILE, request("q")) is None
    one_warning(harness, "damaged")
    assert harness.cache.lookup(PROFILE, request("other")) is not None  # the rest of the cache still works
    harness.store("q", "a fresh answer")
    hit = harness.cache.lookup(PROFILE, request("q"))
    assert hit is not None and hit.entry.text == "a fresh answer"
    assert len(harness.warnings) == 1
