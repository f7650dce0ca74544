"""``--resume OUT``: which ids an earlier run already answered, and the compacted file at the end.

An output file that grew over several runs holds, per id, the line of each attempt; a line that is not a
JSON object with an id (one cut short by a crash) is ignored. Compacting keeps one line per input id, in
input order (the successful one, else the latest), writes it next to the file and replaces the file in one
step (0600, through a symlink), so a crash while compacting leaves the old file whole.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from relaycli.errors import OutputFailed, UsageError
from relaycli.paths import PRIVATE_FILE

__all__ = ["Compacted", "compact", "succeeded"]


def succeeded(path: Path) -> set[str]:
    """The ids whose line in ``path`` has ``"error": null``; none when the file does not exist yet."""
    done: set[str] = set()
    try:
        with path.open("rb") as handle:
            for raw in handle:
                parsed = _parse(raw)
                if parsed is not None and parsed[1]:
                    done.add(parsed[0])
    except FileNotFoundError:
        return done
    except OSError as exc:
        raise UsageError(f"--resume {path}: {exc.strerror or exc}") from None
    return done


@dataclass(frozen=True, slots=True)
class Compacted:
    lines: int  # lines in the compacted file
    dropped: int  # ids in the old file that the input does not have


def compact(path: Path, order: Iterable[str]) -> Compacted:
    """Rewrite ``path`` with exactly one line per id of ``order`` that has one, in that order."""
    index: dict[str, tuple[int, int, bool]] = {}  # id -> (offset, length, succeeded) of the line kept
    offset = 0
    with path.open("rb") as handle:
        for raw in handle:
            parsed = _parse(raw)
            if parsed is not None:
                kept = index.get(parsed[0])
                if kept is None or parsed[1] or not kept[2]:
                    index[parsed[0]] = (offset, len(raw), parsed[1])
            offset += len(raw)
    target = Path(os.path.realpath(path))
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    lines = 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as out, path.open("rb") as source:
            for item_id in order:
                entry = index.pop(item_id, None)
                if entry is None:
                    continue
                source.seek(entry[0])
                data = source.read(entry[1])
                out.write(data if data.endswith(b"\n") else data + b"\n")
                lines += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException as exc:  # a full disk, or Ctrl-C while compacting: the old file stays as it was
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise OutputFailed(f"cannot compact {path}: {exc.strerror or exc}") from exc
        raise
    return Compacted(lines=lines, dropped=len(index))


def _parse(raw: bytes) -> tuple[str, bool] | None:
    """(id, succeeded) of one output line, or None for a line that is not one."""
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(line, dict) or not isinstance(line.get("id"), str) or "error" not in line:
        return None
    return line["id"], line["error"] is None
