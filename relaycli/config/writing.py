"""Replacing the config file safely: atomically, through a symlink, and with write failures as config
errors (exit 3) that name the path and the reason."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from relaycli.errors import ConfigError
from relaycli.paths import private_dir

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
}


def target_of(path: Path) -> Path:
    """The file an edit must replace: the end of a symlink chain (the link itself stays a link)."""
    return path.resolve() if path.is_symlink() else path


MAX_CONFIG_BYTES = 1 << 20  # a config file is a few kilobytes; anything near this is not one


def check_config_file(path: Path) -> None:
    """A config file is a regular file of sane size (not ``/dev/zero``, a FIFO or a huge log)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {reason(exc)}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            f"cannot use {path} as the config file: it is not a regular file", hint="point RELAY_CONFIG at a TOML file"
        )
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"cannot use {path} as the config file: {info.st_size:,} bytes is far too large for one",
            hint="point RELAY_CONFIG at the TOML config file",
        )


def read_config(path: Path) -> str:
    """The file's text ("" when it does not exist yet), as a ConfigError when it cannot be read."""
    if path.is_dir():
        raise ConfigError(
            f"cannot use {path}: it is a directory, not a config file",
            hint="remove or rename it, or point RELAY_CONFIG at a file",
        )
    if not path.exists():  # also a dangling link: the edit creates its target
        return ""
    check_config_file(path)
    try:
        return path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read {path}: not UTF-8 text (byte {exc.start})", hint="save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {reason(exc)}") from exc


def reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def write_atomic(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Write ``text`` to a temporary file next to the target, then rename it over the target."""
    target = target_of(path)
    if target.is_dir():
        raise ConfigError(
            f"cannot write {path}: it is a directory, not a config file",
            hint="remove or rename it, or point RELAY_CONFIG at a file",
        )
    try:
        private_dir(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=target.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_error(path: Path, exc: OSError) -> ConfigError:
    where = str(path) if target_of(path) == path else f"{path} (-> {target_of(path)})"
    return ConfigError(
        f"cannot write {where}: {reason(exc)}; the file was not changed",
        hint="check the directory's permissions and free space, or point RELAY_CONFIG elsewhere",
    )
