"""Where a cost report's numbers come from: one protocol, two sources.

The report itself (``usage.report.assemble``) is the same for both: it takes, for each local day, the
groups of that day's requests (``DayGroup``). ``LedgerSource`` reads them from this machine's SQLite
ledger; the team ledger's source (``team.source.TeamSource``) from PostgreSQL. Either way the table, JSON
and CSV are drawn from one ``Report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from relaycli.ledger import Ledger
    from relaycli.ledger.queries import DayGroup, Where

__all__ = ["LedgerSource", "ReportSource"]

Days = Sequence[tuple[date, str, str]]
"""Local days with their UTC bounds ``[start, end)`` in the ledger's timestamp form, contiguous."""


class ReportSource(Protocol):
    def span(self, since: str | None, until: str | None) -> tuple[str, str] | None:
        """The first and last request time with ``since <= ts < until`` (ledger timestamp form), or None."""
        ...

    def groups(self, days: Days, *, by: tuple[str, ...], where: Where) -> list[list[DayGroup]]:
        """For each day of ``days``, its groups as ``by`` needs them (same order as ``days``)."""
        ...


class LedgerSource:
    """This machine's ledger (``ledger.db``)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def span(self, since: str | None, until: str | None) -> tuple[str, str] | None:
        from relaycli.ledger.queries import span

        return span(self.ledger, since, until)

    def groups(self, days: Days, *, by: tuple[str, ...], where: Where) -> list[list[DayGroup]]:
        from relaycli.ledger.queries import day_groups

        ranges = [(start, end) for _, start, end in days]
        return day_groups(self.ledger, ranges, by_model="model" in by, by_tag="tag" in by, where=where)
