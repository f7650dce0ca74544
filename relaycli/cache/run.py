"""The bodies of ``relay cache stats | list | prune | clear``: open the store, ask it, hand the figures to
``view``. A cache file that does not exist yet is an empty cache (reading it creates nothing)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from relaycli.cache import view
from relaycli.cache.store import CacheStore, CacheUnavailable, Pruned
from relaycli.config.cache import CacheSettings, format_size

if TYPE_CHECKING:
    from relaycli.output.streams import Streams

__all__ = ["cache_clear", "cache_list", "cache_prune", "cache_stats"]


def cache_stats(
    path: Path, settings: CacheSettings, streams: Streams, *, json_out: bool, now: float | None = None
) -> int:
    store = _existing(path)
    try:
        stats = store.stats() if store is not None else None
    finally:
        if store is not None:
            store.close()
    doc = view.stats_json(path, settings, stats, now=time.time() if now is None else now)
    if json_out:
        _write_json(streams, doc)
    else:
        view.stats_text(streams.stdout, doc)
    return 0


def cache_list(
    path: Path,
    streams: Streams,
    *,
    count: int,
    profile: str | None,
    show_prompts: bool,
    json_out: bool,
    now: float | None = None,
) -> int:
    store = _existing(path)
    try:
        entries = store.entries(limit=count, profile=profile) if store is not None else []
    finally:
        if store is not None:
            store.close()
    moment = time.time() if now is None else now
    rows = [view.entry_json(e, now=moment, show_prompt=show_prompts) for e in entries]
    if json_out:
        _write_json(streams, {"path": str(path), "entries": rows})
    elif not rows:
        streams.note(f"the response cache holds no answers{f' of profile {profile!r}' if profile else ''}")
    else:
        view.entries_table(streams, rows, show_prompts=show_prompts)
    return 0


def cache_prune(
    path: Path, settings: CacheSettings, streams: Streams, *, json_out: bool, now: float | None = None
) -> int:
    moment = time.time() if now is None else now
    done = _change(path, lambda store: store.prune(expired_before=moment - settings.ttl_s, max_size=settings.max_size))
    _report(streams, done, json_out=json_out, what="expired or least recently used")
    return 0


def cache_clear(
    path: Path,
    streams: Streams,
    *,
    profile: str | None,
    older_than_s: float | None,
    json_out: bool,
    now: float | None = None,
) -> int:
    """Remove every entry (or a profile's, or those older than a duration). A damaged file is removed whole,
    so the next request starts a new cache."""
    moment = time.time() if now is None else now
    before = None if older_than_s is None else moment - older_than_s
    try:
        done = _change(path, lambda store: store.delete(profile=profile, created_before=before))
    except CacheUnavailable:
        if profile is not None or older_than_s is not None or not path.exists():
            raise
        done = _remove_files(path)
        streams.note(f"{path} could not be read as a cache; removed it")
    _report(streams, done, json_out=json_out, what="")
    return 0


def _existing(path: Path) -> CacheStore | None:
    if not path.exists():
        return None
    return CacheStore.open(path, create=False)


def _change(path: Path, action: Callable[[CacheStore], Pruned]) -> Pruned:
    store = _existing(path)
    if store is None:
        return Pruned(entries=0, freed=0)
    try:
        return action(store)
    finally:
        store.close()


def _remove_files(path: Path) -> Pruned:
    freed = 0
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):
            freed += name.stat().st_size
            name.unlink()
    return Pruned(entries=0, freed=freed)


def _report(streams: Streams, done: Pruned, *, json_out: bool, what: str) -> None:
    if json_out:
        _write_json(streams, {"removed": done.entries, "freed_bytes": done.freed})
        return
    kind = f"{what} " if what else ""
    plural = "entry" if done.entries == 1 else "entries"
    streams.stdout.write(f"removed {done.entries:,} {kind}{plural}; the file shrank by {format_size(done.freed)}\n")


def _write_json(streams: Streams, doc: object) -> None:
    streams.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
