"""This machine's id in the team ledger: 32 random hex digits, made once and kept in ``machine_id`` beside
the ledger (0600). Rows are deduplicated on (machine id, row id), so a copied ``RELAY_HOME`` should get a
new one (delete the file)."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from relaycli.paths import private_dir, write_private

__all__ = ["label", "machine_id"]

_ID = re.compile(r"[0-9a-f]{32}")


def machine_id(data_dir: Path) -> str:
    """The id stored in ``data_dir/machine_id``, created on first use."""
    path = data_dir / "machine_id"
    try:
        text = path.read_text(encoding="ascii").strip()
        if _ID.fullmatch(text):
            return text
    except (OSError, UnicodeDecodeError):
        pass
    private_dir(data_dir)
    new = os.urandom(16).hex()
    tmp = path.with_name(f".machine_id.{os.getpid()}")
    write_private(tmp, new + "\n")
    try:
        os.link(tmp, path)  # only one of two processes creating it at once wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    text = path.read_text(encoding="ascii").strip()
    return text if _ID.fullmatch(text) else new


def label(key: str) -> str:
    """How reports name the machine: ``hostname:1a2b3c4d``."""
    return f"{socket.gethostname() or 'localhost'}:{key[:8]}"
