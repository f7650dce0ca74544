"""The checks of the ``[serve]`` and ``[team]`` tables, made into typed settings (``Checker.serve`` and
``Checker.team`` load this module only for a config that has such a table). Standard library only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from relaycli.config.cache import parse_size
from relaycli.config.checks import _CONTROL, _TOKEN, MAX_BUDGET
from relaycli.config.profile import Profile
from relaycli.config.serve import SERVE_KEYS, ClientKey, ServeSettings
from relaycli.config.team import DEFAULT_DSN_ENV, TEAM_KEYS, TeamSettings

if TYPE_CHECKING:
    from relaycli.config.checks import Checker

__all__ = ["serve_settings", "team_settings"]


def serve_settings(check: Checker, table: Any, profiles: Mapping[str, Profile]) -> ServeSettings:
    """The ``[serve]`` table (see ``config/serve.py``): host, port, max_body, keys, routes."""
    if not isinstance(table, dict):
        raise check.fail("serve", None, "expected a table: [serve] with host, port, max_body, keys, routes")
    unknown = sorted(set(table) - SERVE_KEYS)
    if unknown:
        raise check.fail("serve", unknown[0], f"unknown setting; known: {', '.join(sorted(SERVE_KEYS))}")
    default = ServeSettings()
    host = table.get("host", default.host)
    if not isinstance(host, str) or not host.strip() or _CONTROL.search(host):
        raise check.fail("serve", "host", f"expected a host name or address, got {host!r}")
    port = table.get("port", default.port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise check.fail("serve", "port", f"expected a port number from 0 to 65535, got {port!r}")
    try:
        max_body = parse_size(table["max_body"]) if "max_body" in table else default.max_body
    except ValueError as exc:
        raise check.fail("serve", "max_body", str(exc)) from None
    return ServeSettings(
        host=host.strip(),
        port=port,
        max_body=max_body,
        keys=_serve_keys(check, table.get("keys", {})),
        routes=_serve_routes(check, table.get("routes", {}), profiles),
    )


def _serve_keys(check: Checker, table: Any) -> tuple[ClientKey, ...]:
    example = 'keys = { alice = "sha256:<hex>", ci = { env = "RELAY_SERVE_KEY_CI" } }'
    if not isinstance(table, dict):
        raise check.fail("serve", "keys", f"expected a table of named keys: {example}")
    keys: list[ClientKey] = []
    for name, value in table.items():
        if not _TOKEN.fullmatch(name):
            raise check.fail("serve", "keys", f"a key's name is letters, digits, '-', '_' or '.', got {name!r}")
        if isinstance(value, str):
            digest = value.strip().lower().removeprefix("sha256:")
            if not value.strip().lower().startswith("sha256:") or not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise check.fail(
                    "serve",
                    "keys",
                    f'key {name!r}: expected "sha256:" and 64 hex digits (`relay serve --hash-key` prints'
                    f' them), or {{ env = "VAR" }}; a key itself is never written in the config',
                )
            keys.append(ClientKey(name, sha256=digest))
        elif isinstance(value, dict) and set(value) == {"env"} and isinstance(value["env"], str) and value["env"]:
            keys.append(ClientKey(name, env=value["env"]))
        else:
            raise check.fail("serve", "keys", f'key {name!r}: expected a string or {{ env = "VAR" }}')
    return tuple(keys)


def _serve_routes(check: Checker, table: Any, profiles: Mapping[str, Profile]) -> tuple[tuple[str, str], ...]:
    section = "serve.routes"
    if not isinstance(table, dict):
        raise check.fail(section, None, 'expected a table of model patterns: "claude-*" = "anthropic"')
    routes: list[tuple[str, str]] = []
    for pattern, name in table.items():
        if not isinstance(name, str) or name not in profiles:
            known = ", ".join(sorted(profiles))
            raise check.fail(section, pattern, f"expected the name of a profile ({known}), got {name!r}")
        routes.append((pattern, name))
    return tuple(routes)


def team_settings(check: Checker, table: Any) -> TeamSettings:
    """The ``[team]`` table: where the DSN comes from, the user's name, when to push, team budgets."""
    shape = '[team] with dsn_env = "RELAY_TEAM_DSN" (or dsn_cmd), user, push = "auto" or "manual"'
    if not isinstance(table, dict):
        raise check.fail("team", None, f"expected a table: {shape}")
    unknown = sorted(set(table) - TEAM_KEYS)
    if unknown:
        raise check.fail("team", unknown[0], f"unknown setting; known: {', '.join(sorted(TEAM_KEYS))}")
    dsn_env = check.string("team", table, "dsn_env")
    if dsn_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dsn_env):
        raise check.fail("team", "dsn_env", f"expected the name of an environment variable, got {dsn_env!r}")
    dsn_cmd = check.string("team", table, "dsn_cmd")
    if dsn_cmd is not None and not dsn_cmd.strip():
        raise check.fail("team", "dsn_cmd", "is empty: a command that prints the postgresql:// DSN")
    user = check.string("team", table, "user")
    if user is not None and (not user.strip() or _CONTROL.search(user) or len(user) > 200):
        raise check.fail("team", "user", "expected a name of 1 to 200 characters on one line")
    push = table.get("push", "auto")
    if push not in ("auto", "manual"):
        raise check.fail("team", "push", f'must be "auto" or "manual", got {push!r}')
    budget_action = table.get("budget_action", "warn")
    if budget_action not in ("warn", "block"):
        raise check.fail("team", "budget_action", f'must be "warn" or "block", got {budget_action!r}')
    currency = check.string("team", table, "currency") or "USD"
    if not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise check.fail("team", "currency", f"must be a 3-letter code such as CNY, got {currency!r}")

    def budget(key: str, value: Any) -> Decimal:
        return Decimal(str(check.number("team", key, value, minimum=0, maximum=MAX_BUDGET)))

    raw_budgets = table.get("budgets", {})
    if not isinstance(raw_budgets, dict):
        raise check.fail("team", "budgets", 'expected a table of user -> monthly budget: { "ana@box" = 300 }')
    return TeamSettings(
        configured=True,
        dsn_env=dsn_env or DEFAULT_DSN_ENV,
        dsn_env_set=dsn_env is not None,
        dsn_cmd=dsn_cmd,
        user=user.strip() if user else None,
        push=push,
        budget=budget("budget", table["budget"]) if "budget" in table else None,
        user_budget=budget("user_budget", table["user_budget"]) if "user_budget" in table else None,
        budgets={name: budget("budgets", value) for name, value in raw_budgets.items()},
        currency=currency.upper(),
        budget_action=budget_action,
    )
