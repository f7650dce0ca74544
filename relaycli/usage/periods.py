"""Calendar periods in a time zone: which local day a request falls on, and that day's bounds in UTC.

Pure and standard library only. The ledger stores UTC times (``2026-11-23T04:47:27.123Z``, which sort
chronologically as strings); a report groups them by local days and months, so a period is a range of
UTC timestamps. Bounds come from ``zoneinfo``, so days stay right across daylight-saving changes (a
local day can last 23 or 25 hours; a fixed offset would put an hour of requests on the wrong day).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

from relaycli.errors import UsageError

__all__ = ["Zone", "day_ranges", "local_zone", "month_range", "parse_day", "parse_month", "resolve_zone", "timestamp"]


@dataclass(frozen=True, slots=True)
class Zone:
    """A time zone and the name to show for it (``Asia/Shanghai``, ``UTC``)."""

    name: str
    tz: tzinfo

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def midnight(self, day: date) -> datetime:
        """The UTC instant the local ``day`` begins (a midnight that does not exist starts at the jump)."""
        return datetime.combine(day, time(0), tzinfo=self.tz).astimezone(UTC)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


def timestamp(moment: datetime) -> str:
    """The ledger's form of a UTC instant: ``2026-11-23T04:47:27.123Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """The inverse of :func:`timestamp`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def resolve_zone(name: str | None, env: Mapping[str, str] | None = None) -> Zone:
    """``--timezone NAME`` (an IANA name such as ``Europe/Berlin``, or ``UTC``), else the local zone."""
    if not name:
        return local_zone(env)
    zone = _named(name)
    if zone is None:
        raise UsageError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as UTC, Europe/Berlin, America/New_York or Asia/Shanghai",
        )
    return zone


def local_zone(env: Mapping[str, str] | None = None) -> Zone:
    """The machine's zone, by name when it can be found (so daylight-saving rules apply).

    Tried in order: the ``TZ`` variable, the ``/etc/localtime`` link's target, the ``/etc/localtime``
    file itself, and last the current fixed UTC offset.
    """
    env = os.environ if env is None else env
    configured = (env.get("TZ") or "").lstrip(":")
    if configured:
        zone = _named(configured)
        if zone is not None:
            return zone
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            zone = _named(target.split("zoneinfo/", 1)[1])
            if zone is not None:
                return zone
        from zoneinfo import ZoneInfo

        with localtime.open("rb") as handle:
            return Zone("local", ZoneInfo.from_file(handle, key="localtime"))
    except (OSError, ValueError):
        pass
    fixed = datetime.now().astimezone().tzinfo
    return Zone(str(fixed) if fixed is not None else "UTC", fixed or UTC)


def _named(name: str) -> Zone | None:
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return Zone("UTC", UTC)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return Zone(name, ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_month(text: str, flag: str = "--month") -> date:
    """``YYYY-MM`` -> the first day of that month."""
    match = _MONTH.fullmatch(text.strip())
    if match and 1 <= int(match.group(2)) <= 12 and 1 <= int(match.group(1)) <= 9998:
        return date(int(match.group(1)), int(match.group(2)), 1)
    raise UsageError(f"{flag}: expected a month as YYYY-MM, got {text!r}")


def parse_day(text: str, flag: str) -> date:
    if _DAY.fullmatch(text.strip()):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            pass
        else:
            if day.year <= 9998:  # room for the day after and the month after
                return day
    raise UsageError(f"{flag}: expected a date as YYYY-MM-DD, got {text!r}")


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_range(zone: Zone, first: date) -> tuple[str, str]:
    """UTC bounds ``[start, end)`` of the local month that starts on ``first``."""
    return timestamp(zone.midnight(first)), timestamp(zone.midnight(next_month(first)))


def day_ranges(zone: Zone, first: date, last: date) -> list[tuple[date, str, str]]:
    """Every local day from ``first`` to ``last`` (inclusive) with its UTC bounds ``[start, end)``."""
    out: list[tuple[date, str, str]] = []
    day = first
    start = timestamp(zone.midnight(day))
    while day <= last:
        following = day + timedelta(days=1)
        end = timestamp(zone.midnight(following))
        if end > start:  # a zone that skipped a whole day (Samoa, 2011-12-30) has no bounds for it
            out.append((day, start, end))
            start = end
        day = following
    return out
