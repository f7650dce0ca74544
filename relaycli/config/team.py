"""The ``[team]`` table: the shared team ledger on PostgreSQL (``relay team``, ``relay cost --team``).

Standard library only; checked by ``config.checks.Checker.team``. The DSN itself is never part of the
settings (it can hold a password): only where to read it from.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = ["DEFAULT_DSN_ENV", "TEAM_KEYS", "TeamSettings", "default_user"]

DEFAULT_DSN_ENV = "RELAY_TEAM_DSN"
TEAM_KEYS = {"dsn_env", "dsn_cmd", "user", "push", "budget", "user_budget", "budgets", "currency", "budget_action"}


@dataclass(frozen=True, slots=True)
class TeamSettings:
    """The ``[team]`` table (the team ledger on PostgreSQL)."""

    configured: bool = False  # a [team] table exists (automatic pushes need one)
    dsn_env: str = DEFAULT_DSN_ENV  # the environment variable holding the postgresql:// DSN
    dsn_env_set: bool = False  # dsn_env was written in the table (then it is tried before dsn_cmd)
    dsn_cmd: str | None = None  # a command printing the DSN (its first line)
    user: str | None = None  # the name in team reports; None: $USER@hostname
    push: Literal["auto", "manual"] = "auto"  # auto: after each command that recorded requests
    budget: Decimal | None = None  # the team's monthly budget, in ``currency``
    user_budget: Decimal | None = None  # every user's monthly budget, unless ``budgets`` names theirs
    budgets: Mapping[str, Decimal] = field(default_factory=dict)  # user -> monthly budget
    currency: str = "USD"  # the billing currency the budgets count
    budget_action: Literal["warn", "block"] = "warn"  # block: refuse requests once a team budget is used up

    @property
    def has_budgets(self) -> bool:
        return self.budget is not None or self.user_budget is not None or bool(self.budgets)

    def user_name(self, env: Mapping[str, str] | None = None) -> str:
        return self.user or default_user(env)


def default_user(env: Mapping[str, str] | None = None) -> str:
    """``$USER@hostname`` (``LOGNAME``/``USERNAME`` when ``USER`` is not set)."""
    env = os.environ if env is None else env
    name = env.get("USER") or env.get("LOGNAME") or env.get("USERNAME") or "unknown"
    return f"{name}@{socket.gethostname() or 'localhost'}"
