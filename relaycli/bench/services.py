"""What ``relay bench`` and ``relay ping`` take from the rest of relay; the command builds it from its
context, so neither sees more than it uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaycli.config.profile import Profile, ResolvedKey
    from relaycli.ledger import Ledger
    from relaycli.usage.prices import PriceTable

__all__ = ["Services"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    profile: Callable[[str | None], Profile]  # by name, None for the default; ConfigError when unknown
    default_model: Callable[[Profile], str]  # RELAY_MODEL, else the profile's default_model
    key: Callable[[Profile], ResolvedKey]
    ledger: Callable[[], Ledger]
    prices: Callable[[], PriceTable]
    warn: Callable[[str], None]
    env: Mapping[str, str]
    now: Callable[[], datetime] = field(default=_utcnow)

    def check_budget(self, profile: Profile) -> None:
        """Refuse (``BudgetExceeded``) a profile that blocks on a spent budget, before anything is sent."""
        from relaycli.usage.budget import check_before

        check_before(self.ledger, profile, warn=self.warn, now=self.now(), env=self.env)
