"""What relay writes is its owner's alone (directories 0700, files 0600), and a full disk is named as such."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from relaycli.ledger import Ledger, LedgerError, storage_error
from tests.conftest import run_relay

from .support import write_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_file_under_relay_home_is_private(relay_env: dict[str, str]) -> None:
    home = Path(relay_env["RELAY_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o755)
    write_config(
        relay_env,
        '[profiles.old]\nbase_url = "' + relay_env["RELAY_MOCK_URL"] + '/v1"\n'
        'default_model = "gpt-4.1"\nheaders = { "X-Mock" = "reject_stream_options" }\n',
    )
    os.chmod(home / "config.toml", 0o644)
    assert run_relay("config", "set", "profiles.old.retries", "1", env=relay_env).code == 0
    assert run_relay("stream", "-p", "mock", "hi", env=relay_env).code == 0
    assert run_relay("stream", "-p", "old", "hi", env=relay_env).code == 0  # learns a quirk: cache/quirks.json
    assert run_relay("chat", "-p", "mock", input="hello\n", env=relay_env).code == 0
    assert (home / "ledger.db").exists() and (home / "cache" / "quirks.json").exists()
    for path in [home, *home.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) & ~expected == 0, f"{path} is {oct(mode(path))}"


def test_an_existing_loose_ledger_is_tightened_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    path = data / "ledger.db"
    Ledger.open(path).close()
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        if (data / name).exists():
            os.chmod(data / name, 0o644)
    os.chmod(data, 0o755)
    with Ledger.open(path) as ledger:
        ledger.count()
    assert mode(data) == 0o700
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm"):
        if (data / name).exists():
            assert mode(data / name) == 0o600, name


@pytest.mark.parametrize("text", ["database or disk is full", "disk I/O error"])
def test_a_full_disk_is_named_and_the_file_not_called_damaged(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 100, 0))  # type: ignore[attr-defined]
    error = storage_error(tmp_path / "ledger.db", sqlite3.OperationalError(text), doing="read")
    assert isinstance(error, LedgerError)
    assert "the disk is full" in error.message and "move it aside" not in (error.hint or "")


def test_a_damaged_ledger_still_gets_the_advice(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError) as caught:
        Ledger.open(path)
    assert "move it aside" in (caught.value.hint or "")


def test_piped_chat_goes_on_when_the_ledger_cannot_be_written(relay_env: dict[str, str]) -> None:
    home = Path(relay_env["RELAY_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "ledger.db").mkdir()  # a directory where the ledger should be: it can be neither opened nor written
    ran = run_relay("chat", "-p", "mock", input="one\ntwo\n", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.out.count("Mock answer") == 2
    assert "usage not recorded" in ran.err and "conversation not saved" in ran.err
    ran = run_relay("stream", "-p", "mock", "hi", env=relay_env)
    assert ran.code == 0 and "usage not recorded" in ran.err
