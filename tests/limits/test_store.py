"""``limits.db`` when things are wrong: garbage in the file, damage found while in use, a folder that
cannot be written, a file from a newer relay. Each is at most one warning; no request ever fails for it."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from relaycli.config.profile import Limits
from relaycli.limits.guard import Permit
from relaycli.limits.store import LimitStore, LimitsUnavailable

from .support import Clock, Said, guard, profile, request

P = profile(limits=Limits(rpm=600))


def go(g: object) -> object:
    return g.enter(P, request(), priority="normal", notes=Said().notes_sink)  # type: ignore[attr-defined]


def test_a_new_store_is_private(tmp_path: Path) -> None:
    db = tmp_path / "cache" / "limits.db"
    g = guard(db, Clock())
    assert isinstance(go(g), Permit)
    g.close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_a_garbage_file_is_a_warning_and_a_reset(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    db.write_bytes(b"not a database at all\n" * 200)
    warnings: list[str] = []
    g = guard(db, Clock(), warnings=warnings)
    assert isinstance(go(g), Permit)  # the request is guarded by a fresh store
    assert len(warnings) == 1 and "limits.db was unreadable" in warnings[0] and "state was reset" in warnings[0]
    assert (tmp_path / "limits.db.damaged").read_bytes().startswith(b"not a database")
    assert isinstance(go(g), Permit) and len(warnings) == 1  # said once
    g.close()
    again: list[str] = []
    assert isinstance(go(guard(db, Clock(), warnings=again)), Permit) and again == []  # the next process is fine


def test_damage_found_while_in_use_resets_the_store_once(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    warnings: list[str] = []
    g = guard(db, Clock(), warnings=warnings)
    assert isinstance(go(g), Permit)
    with sqlite3.connect(db) as other:  # another program drops what the guard relies on
        other.execute("DROP TABLE state")
    assert go(g) is None  # this request passes unguarded
    assert warnings == [f"{db} was damaged; its state was reset"]
    assert isinstance(go(g), Permit)  # and the next one is guarded again, by the fresh store
    assert (tmp_path / "limits.db.damaged").exists()


def test_a_path_that_cannot_be_a_folder_is_one_warning_and_requests_pass_unguarded(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where the folder should be")
    warnings: list[str] = []
    g = guard(tmp_path / "cache" / "limits.db", Clock(), warnings=warnings)
    for _ in range(3):
        assert go(g) is None
        g.observe(P, 429, {"retry-after": "5"})
        g.exit(None, None, None)
    assert len(warnings) == 1 and warnings[0].startswith("limits and circuit breaker skipped: cannot open")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_an_unwritable_folder_is_one_warning_and_requests_pass_unguarded(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o500)
    try:
        warnings: list[str] = []
        g = guard(folder / "limits.db", Clock(), warnings=warnings)
        assert go(g) is None and go(g) is None
        assert len(warnings) == 1 and "limits and circuit breaker skipped" in warnings[0]
    finally:
        folder.chmod(0o700)


def test_a_store_from_a_newer_relay_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(LimitsUnavailable, match="written by a newer relay"):
        LimitStore.open(db)
    warnings: list[str] = []
    assert go(guard(db, Clock(), warnings=warnings)) is None
    assert len(warnings) == 1 and "newer relay" in warnings[0]
    assert not (tmp_path / "limits.db.damaged").exists()


def test_values_of_the_wrong_shape_read_as_absent(tmp_path: Path) -> None:
    db = tmp_path / "limits.db"
    store, _ = LimitStore.open(db)
    with store.transaction() as tx:
        tx.put("p", "pause", [1, 2, 3])
        tx.put("p", "rpm", {"capacity": "lots"})
        tx.put("p", "breaker", "open")
    store.close()
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO state VALUES ('p', 'learned', '{not json')")
    clock = Clock()
    assert isinstance(go(guard(db, clock)), Permit)
    assert clock.slept == []
