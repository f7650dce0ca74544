"""Monthly budgets per profile (``budget = 500`` in the billing currency, ``budget_action``).

A calendar month in the local time zone (``TZ``, else the system's), counting every request the profile
was billed for in its billing currency, ``relay bench`` runs included: a budget is about money spent.

* ``check_before``: with ``budget_action = "block"``, a profile whose month-to-date spend has reached
  its budget refuses the request before anything is sent (``BudgetExceeded``, exit 3, with the figures).
* ``check_after``: once a request is recorded, a warning when *this* request took the spend across 80 %
  or 100 % of the budget, so each threshold is announced once, by the request that crossed it.

The pipeline's ``BudgetGate`` applies both to every request; bench and ping call ``check_before``.

The spend is one indexed query over the month's rows of the ledger (``ledger.queries.month_spend``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from relaycli.config.profile import Profile
from relaycli.errors import BudgetExceeded, RelayError
from relaycli.usage.money import format_money
from relaycli.usage.periods import Zone, local_zone, month_range, parse_timestamp

if TYPE_CHECKING:
    from relaycli.ledger import Ledger, LedgerRow

__all__ = ["THRESHOLDS", "Spend", "check_after", "check_before", "crossed", "month_to_date"]

THRESHOLDS = (Decimal("0.8"), Decimal(1))


@dataclass(frozen=True, slots=True)
class Spend:
    """A profile's spend in one calendar month, against its budget."""

    profile: str
    month: str  # YYYY-MM
    budget: Decimal
    spent: Decimal
    currency: str
    action: str
    scope: str = "profile"  # "profile", or the team ledger's "team" and "user" (``profile`` names the user)

    @property
    def percent(self) -> int | None:
        """Whole percent used, rounded down (79.99 % is 79); None for a budget of 0."""
        if self.budget == 0:
            return None
        return int((self.spent * 100 / self.budget).to_integral_value(rounding=ROUND_FLOOR))

    @property
    def over(self) -> bool:
        return self.spent >= self.budget

    def figures(self, *, percent: bool = True) -> str:
        used = "" if self.percent is None or not percent else f" ({self.percent}%)"
        spent, budget = format_money(self.spent, self.currency), format_money(self.budget, self.currency)
        if self.spent < self.budget and spent == budget:
            spent = f"just under {spent}"  # rounding would make it look spent in full
        return f"{spent} of {budget}{used} in {self.month}"


def month_to_date(
    ledger: Ledger, profile: Profile, *, now: datetime, zone: Zone | None = None, env: Mapping[str, str] | None = None
) -> Spend:
    """What ``profile`` has been billed in the local calendar month that contains ``now``."""
    from relaycli.ledger.queries import month_spend

    if profile.budget is None:
        raise ValueError(f"profile {profile.name!r} has no budget")
    zone = zone or local_zone(env)
    first = zone.today(now).replace(day=1)
    since, until = month_range(zone, first)
    spent = month_spend(ledger, profile=profile.name, currency=profile.billing.currency, since=since, until=until)
    return Spend(
        profile=profile.name,
        month=f"{first:%Y-%m}",
        budget=profile.budget,
        spent=spent,
        currency=profile.billing.currency,
        action=profile.budget_action,
    )


def crossed(before: Decimal, after: Decimal, budget: Decimal) -> Decimal | None:
    """The highest threshold (0.8 or 1) that going from ``before`` to ``after`` crossed, if any."""
    hit = None
    for fraction in THRESHOLDS:
        limit = budget * fraction
        if before < limit <= after or (limit == 0 and before == 0 < after):
            hit = fraction
    return hit


def check_before(
    ledger: Callable[[], Ledger],
    profile: Profile,
    *,
    warn: Callable[[str], None],
    now: datetime,
    env: Mapping[str, str] | None = None,
) -> None:
    """Refuse the request when the profile blocks on its budget and the month's spend has reached it.

    A ledger that cannot be read is a warning, never the reason a request fails.
    """
    if profile.budget is None or profile.budget_action != "block":
        return
    try:
        spend = month_to_date(ledger(), profile, now=now, env=env)
    except RelayError as exc:
        warn(f"budget of profile {profile.name!r} not checked: {exc.message}")
        return
    if spend.over:
        raise BudgetExceeded(
            f"profile {profile.name!r} has used its monthly budget: {spend.figures()}; "
            'budget_action = "block" refuses new requests until the month ends',
            hint=f'raise it (`relay config set profiles.{profile.name}.budget N`) or set budget_action = "warn"; '
            "`relay cost` shows where it went",
        )


def check_after(
    ledger: Callable[[], Ledger],
    profile: Profile,
    row: LedgerRow,
    *,
    warn: Callable[[str], None],
    env: Mapping[str, str] | None = None,
) -> None:
    """Warn once when the request just recorded in ``row`` took the month's spend across 80 % or 100 %."""
    if profile.budget is None or not row.cost_billed or row.currency != profile.billing.currency:
        return
    try:
        spend = month_to_date(ledger(), profile, now=parse_timestamp(row.ts), env=env)
    except RelayError as exc:
        warn(f"budget of profile {profile.name!r} not checked: {exc.message}")
        return
    fraction = crossed(spend.spent - row.cost_billed, spend.spent, spend.budget)
    if fraction is None:
        return
    if fraction < 1:
        warn(
            f"profile {profile.name!r} has used {spend.percent}% of its monthly budget: {spend.figures(percent=False)}"
        )
        return
    then = '; further requests will be refused (budget_action = "block")' if profile.budget_action == "block" else ""
    warn(f"profile {profile.name!r} has reached its monthly budget: {spend.figures()}{then}")
