"""Where relay keeps its files: config.toml, ledger.db and the response cache.

``RELAY_HOME=DIR`` puts all three under DIR; ``RELAY_CONFIG=FILE`` points at another config file.
Otherwise the platform's directories (platformdirs). ``resolve`` creates nothing; ``private_dir`` and
``write_private`` create directories (0700) and files (0600) that only their owner can read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP = "relay"


@dataclass(frozen=True, slots=True)
class Paths:
    """Where relay keeps its files: the config file, the ledger and the cache folder."""

    config: Path
    ledger: Path
    cache: Path
    config_source: str  # how the config path was chosen: "RELAY_CONFIG", "RELAY_HOME" or "platform"


def resolve(env: Mapping[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    home = env.get("RELAY_HOME")
    if home:
        base = Path(home).expanduser()
        config, ledger, cache, source = base / "config.toml", base / "ledger.db", base / "cache", "RELAY_HOME"
    else:
        import platformdirs

        config = Path(platformdirs.user_config_dir(APP)) / "config.toml"
        ledger = Path(platformdirs.user_data_dir(APP)) / "ledger.db"
        cache = Path(platformdirs.user_cache_dir(APP))
        source = "platform"
    explicit = env.get("RELAY_CONFIG")
    if explicit:
        config, source = Path(explicit).expanduser(), "RELAY_CONFIG"
    return Paths(config=config, ledger=ledger, cache=cache, config_source=source)


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and any missing parents) for relay's use only (0700), tightening it if it is looser.

    Relay's directories hold conversations, usage and learned settings: nobody else needs to read them.
    """
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tighten(path, PRIVATE_DIR)
    return path


def tighten(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Remove permission bits beyond ``mode`` from an existing file or directory (a missing one is fine)."""
    try:
        current = path.stat().st_mode & 0o777
        if current & ~mode:
            os.chmod(path, current & mode)
    except OSError:
        pass


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (0600, also when it existed with looser bits)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tighten(path)


def replace_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (0600): a temporary file beside it, renamed over it, so a
    reader sees the old file or the new one, never half of one."""
    import _thread

    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_thread.get_ident()}")
    try:
        write_private(tmp, text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sqlite_files(path: Path) -> list[Path]:
    """A SQLite database and the write-ahead log and shared-memory files it keeps beside it in WAL mode."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
