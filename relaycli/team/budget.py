"""Team budgets checked on every request, like a profile's: ``[team] budget`` (the team's month),
``user_budget`` / ``budgets`` (this user's month), in ``[team] currency``; ``budget_action = "block"``
refuses requests once one is used up, and a warning says when a request crosses 80 % or 100 %.

The team's spend lives on the server, and a request must not wait for it: the month's figures are fetched
at most every ``REFRESH_S`` seconds (a 2 s connect timeout; after a failure, not again for ``RETRY_S``) and
kept in ``team-spend.json`` beside the ledger (0600), so other relay processes use them too. To them is
added what this machine recorded since that fetch and had not pushed yet (read from the local ledger), so
a machine's own new spend counts at once. A server that cannot be reached is one warning per run, and the
last known figures are used; with none, nothing is refused.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from relaycli.config.team import TeamSettings
from relaycli.errors import BudgetExceeded, RelayError
from relaycli.paths import replace_private

if TYPE_CHECKING:
    from relaycli.ledger import Ledger, LedgerRow

__all__ = ["SpendSnapshot", "TeamBudget"]

FILE = "team-spend.json"
REFRESH_S = 300.0
RETRY_S = 60.0


@dataclass(frozen=True, slots=True)
class SpendSnapshot:
    """The month's spend on the server when it was fetched, and the local rowid it included up to."""

    month: str  # the month's first instant (UTC, the ledger's timestamp form)
    currency: str
    team: str  # decimal strings, exact
    user: str
    fetched_at: float  # Unix time
    pushed_rowid: int  # local rows after this one were not on the server yet


class TeamBudget:
    def __init__(
        self,
        settings: TeamSettings,
        env: Mapping[str, str],
        data_dir: Path,
        *,
        fetch: Callable[[str, str, str], tuple[Decimal, Decimal]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.env = env
        self.path = data_dir / FILE
        self.data_dir = data_dir
        self._fetch = fetch or self._fetch_from_server
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: SpendSnapshot | None = None
        self._tried_at = 0.0
        self._warned_unreachable = False
        self._warned_levels: set[tuple[str, float]] = set()

    @property
    def user(self) -> str:
        return self.settings.user_name(self.env)

    def budgets(self) -> list[tuple[str, Decimal]]:
        """(scope, monthly budget): the team's, this user's."""
        out: list[tuple[str, Decimal]] = []
        if self.settings.budget is not None:
            out.append(("team", self.settings.budget))
        mine = self.settings.budgets.get(self.user, self.settings.user_budget)
        if mine is not None:
            out.append(("user", mine))
        return out

    # -- the pipeline's checks ----------------------------------------------------------------------
    def check_before(self, ledger: Callable[[], Ledger], *, warn: Callable[[str], None], now: datetime) -> None:
        """Refuse the request when ``budget_action = "block"`` and a team budget is used up."""
        if self.settings.budget_action != "block":
            return
        for scope, budget, spent in self._spend(ledger, warn, now):
            if spent >= budget:
                raise BudgetExceeded(
                    f"{self._subject(scope)} has used up its monthly budget: {_money(spent)} of {_money(budget)}"
                    f' {self.settings.currency}; [team] budget_action = "block" refuses new requests until the'
                    " month ends",
                    hint="`relay cost --team` shows where it went; raise [team] "
                    + ("budget" if scope == "team" else "budgets or user_budget"),
                )

    def check_after(
        self, ledger: Callable[[], Ledger], row: LedgerRow, *, warn: Callable[[str], None], now: datetime
    ) -> None:
        """Warn once per run when the request just recorded took a team budget across 80 % or 100 %."""
        if not row.cost_billed or row.currency != self.settings.currency:
            return
        for scope, budget, spent in self._spend(ledger, warn, now):
            if budget <= 0:
                continue
            before = spent - row.cost_billed
            for level in (1.0, 0.8):
                if before < budget * Decimal(str(level)) <= spent and (scope, level) not in self._warned_levels:
                    self._warned_levels.add((scope, level))
                    what = "reached" if level == 1.0 else "used 80 % of"
                    block = (
                        '; further requests will be refused (budget_action = "block")'
                        if level == 1.0 and self.settings.budget_action == "block"
                        else ""
                    )
                    warn(
                        f"{self._subject(scope)} has {what} its monthly budget: {_money(spent)} of {_money(budget)}"
                        f" {self.settings.currency}{block}"
                    )
                    break

    # -- the figures ----------------------------------------------------------------------------------
    def _spend(
        self, ledger: Callable[[], Ledger], warn: Callable[[str], None], now: datetime
    ) -> list[tuple[str, Decimal, Decimal]]:
        budgets = self.budgets()
        if not budgets:
            return []
        since, until = self._month(now)
        month = since
        snapshot = self._current(month, warn)
        if snapshot is None:
            return []
        local = self._local_since(ledger, snapshot, since, until)
        figures = {"team": Decimal(snapshot.team) + local, "user": Decimal(snapshot.user) + local}
        return [(scope, budget, figures[scope]) for scope, budget in budgets]

    def _current(self, month: str, warn: Callable[[str], None]) -> SpendSnapshot | None:
        with self._lock:
            snapshot = self._snapshot or self._read()
            now = self._clock()
            fresh = snapshot is not None and snapshot.month == month and now - snapshot.fetched_at < REFRESH_S
            if fresh or now - self._tried_at < RETRY_S:
                self._snapshot = snapshot
                return snapshot if snapshot is not None and snapshot.month == month else None
            self._tried_at = now
            try:
                snapshot = self._fetched(month)
            except (RelayError, OSError) as exc:
                if not self._warned_unreachable:
                    self._warned_unreachable = True
                    message = exc.message if isinstance(exc, RelayError) else str(exc)
                    warn(f"team budget checked against the last known spend: {message}")
                return snapshot if snapshot is not None and snapshot.month == month else None
            self._snapshot = snapshot
            self._write(snapshot)
            return snapshot

    def _fetched(self, month: str) -> SpendSnapshot:
        from relaycli.team.state import read_state

        pushed = read_state(self.data_dir).pushed_rowid  # read first: the server has at least these rows
        team, user = self._fetch(month, self.settings.currency, self.user)
        return SpendSnapshot(month, self.settings.currency, str(team), str(user), self._clock(), pushed)

    def _month(self, now: datetime) -> tuple[str, str]:
        """The UTC bounds of the local month ``now`` is in (``TZ`` / ``RELAY_TIMEZONE`` as for reports)."""
        from relaycli.usage.periods import month_range, resolve_zone

        zone = resolve_zone(None, self.env)
        return month_range(zone, zone.today(now).replace(day=1))

    def _fetch_from_server(self, month: str, currency: str, user: str) -> tuple[Decimal, Decimal]:
        from relaycli.team.run import open_source

        source = open_source(self.settings, self.env, timeout=2, statement_timeout=5)
        try:
            since, until = month, self._month_end(month)
            team = source.month_spend(since=since, until=until, currency=currency)
            mine = source.month_spend(since=since, until=until, currency=currency, user=user)
        finally:
            source.close()
        return team, mine

    def _month_end(self, since: str) -> str:
        from relaycli.usage.periods import parse_timestamp

        return self._month(parse_timestamp(since))[1]

    def _local_since(self, ledger: Callable[[], Ledger], snapshot: SpendSnapshot, since: str, until: str) -> Decimal:
        from relaycli.ledger.export import billed_after

        try:
            return billed_after(ledger(), snapshot.pushed_rowid, since=since, until=until, currency=snapshot.currency)
        except RelayError:
            return Decimal(0)

    def _subject(self, scope: str) -> str:
        return "the team" if scope == "team" else f"team user {self.user}"

    def _read(self) -> SpendSnapshot | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return SpendSnapshot(**data)
        except (OSError, ValueError, TypeError):
            return None

    def _write(self, snapshot: SpendSnapshot) -> None:
        with contextlib.suppress(OSError):  # the figures are kept in memory for this run all the same
            replace_private(self.path, json.dumps(asdict(snapshot)) + "\n")


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"
