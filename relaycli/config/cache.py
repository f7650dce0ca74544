"""The ``[cache]`` table: whether the response cache is used, how long entries live and how large the file
may grow; and the duration and size notations it (and ``relay cache clear --older-than``) accept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["CacheSettings", "format_duration", "format_size", "parse_duration", "parse_size"]

DAY = 86_400
MAX_TTL = 10 * 365 * DAY
MIN_SIZE = 64 * 1024  # an empty cache.db takes 32 KiB; any less, and one answer would push out all others
MAX_SIZE = 1 << 40


@dataclass(frozen=True, slots=True)
class CacheSettings:
    """The ``[cache]`` table."""

    enabled: bool = True
    ttl_s: float = 7 * DAY  # an entry older than this is a miss (and ``relay cache prune`` removes it)
    max_size: int = 500 * 1000**2  # bytes; the least recently used entries go first when it is passed


_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}
# patterns compiled (and cached) by ``re`` on first use: most runs read no [cache] table
_DURATION = r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$"
_UNITS_B = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$"


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a text such as ``"90s"``, ``"30m"``, ``"12h"``, ``"7d"``,
    ``"2w"``; ``ValueError`` says what is accepted."""
    if isinstance(value, bool):
        raise ValueError('expected a duration such as 3600, "12h" or "7d"')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := re.match(_DURATION, value, re.IGNORECASE)):
        seconds = float(m.group(1)) * _UNITS_S[(m.group(2) or "s").lower()]
    else:
        raise ValueError(f'expected a duration such as 3600, "12h" or "7d", got {value!r}')
    if not 0 < seconds <= MAX_TTL:
        raise ValueError(f"expected a duration above 0 and at most 10 years, got {value!r}")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from a whole number or a text such as ``"500MB"``, ``"2GiB"``, ``"64 KB"``."""
    if isinstance(value, bool):
        raise ValueError('expected a size such as 500000000 or "500MB"')
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (m := re.match(_SIZE, value, re.IGNORECASE)):
        size = int(Decimal(m.group(1)) * _UNITS_B[(m.group(2) or "").lower()])  # exact: "8.2MB" is 8200000
    else:
        raise ValueError(f'expected a size such as 500000000 or "500MB", got {value!r}')
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"expected a size from 64KiB to 1TiB, got {value!r}")
    return size


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"3 h"``, ``"7 d"``: the largest unit that fits, rounded down."""
    for unit, size in (("d", DAY), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{max(int(seconds), 0)} s"


def format_size(size: int) -> str:
    for unit, scale in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
