"""``relay cost --team``: the team database as a cost report's source (``cost.source.ReportSource``).

The groups come back in the same shape as the local ledger's (``DayGroup``), so ``usage.report`` builds
one ``Report`` from either. One query answers every day at once: each row's local day is its bucket among
the days' UTC bounds (``width_bucket``). It reads the ``hourly`` rollup when every bound falls on a whole
UTC hour (any zone whose offset is whole hours), and the rows themselves otherwise (India, Nepal, ...), with
the same sums either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from relaycli.config.team import TeamSettings
from relaycli.team.migrations import SUMS
from relaycli.team.push import ROW_SUMS
from relaycli.usage.periods import Zone, month_range, parse_timestamp, timestamp

if TYPE_CHECKING:
    from relaycli.cost.source import Days
    from relaycli.ledger.queries import DayGroup, Where
    from relaycli.team.store import TeamStore
    from relaycli.usage.budget import Spend

__all__ = ["TeamSource"]

_MODEL = "CASE WHEN model_answered_id <> 0 THEN model_answered_id ELSE model_requested_id END"
_DIMENSION_COLUMNS = {"tag": "tag_id", "user": "user_id", "machine": "machine_id"}


def _whole_hours(bounds: Sequence[str]) -> bool:
    return all(parse_timestamp(b).replace(minute=0, second=0, microsecond=0) == parse_timestamp(b) for b in bounds)


class TeamSource:
    def __init__(self, store: TeamStore, settings: TeamSettings | None = None) -> None:
        self.store = store
        self.settings = settings or TeamSettings()
        self.used_rollup: bool | None = None  # whether the last ``groups`` read a rollup, and which table
        self.table: str | None = None

    def close(self) -> None:
        self.store.close()

    def budgets(self, zone: Zone, now: datetime, currency: str | None) -> list[Spend]:
        """The team's monthly budgets (``[team] budget``, ``user_budget``, ``budgets``) against this
        month's spend in the team ledger, in the budgets' currency."""
        from relaycli.usage.budget import Spend

        team = self.settings
        if currency is not None and currency != team.currency:
            return []
        first = zone.today(now).replace(day=1)
        since, until = month_range(zone, first)
        month = f"{first:%Y-%m}"
        out: list[Spend] = []

        def spend(scope: str, name: str, budget: Decimal, user: str | None) -> Spend:
            spent = self.month_spend(since=since, until=until, currency=team.currency, user=user)
            return Spend(name, month, budget, spent, team.currency, "warn", scope=scope)

        if team.budget is not None:
            out.append(spend("team", "team", team.budget, None))
        users = dict.fromkeys(self.users()) if team.user_budget is not None else {}
        users.update(dict.fromkeys(team.budgets))
        for user in sorted(users):
            budget = team.budgets.get(user, team.user_budget)
            if budget is not None:
                out.append(spend("user", user, budget, user))
        return out

    def span(self, since: str | None, until: str | None) -> tuple[str, str] | None:
        sql = "SELECT MIN(ts), MAX(ts) FROM requests WHERE ts >= %s AND ts < %s"
        low = parse_timestamp(since) if since else datetime(1, 1, 2).astimezone()
        high = parse_timestamp(until) if until else datetime(9999, 1, 1).astimezone()
        ((first, last),) = self.store.query(sql, (low, high))
        return None if first is None else (timestamp(first), timestamp(last))

    def _ids(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        return dict(self.store.query("SELECT name, id FROM names WHERE name = ANY(%s)", (list(names),)))

    def _filters(self, where: Where, *, totals: bool = False) -> tuple[str, dict[str, Any]]:
        ids = self._ids([*where.profiles, *where.models, "bench"])
        parts: list[str] = []
        params: dict[str, Any] = {}
        if where.profiles:
            parts.append("profile_id = ANY(%(profiles)s)")
            params["profiles"] = [ids.get(p, -1) for p in where.profiles]
        if where.models:
            parts.append("(model_answered_id = ANY(%(models)s) OR model_requested_id = ANY(%(models)s))")
            params["models"] = [ids.get(m, -1) for m in where.models]
        if where.currency:
            parts.append("currency = %(currency)s")
            params["currency"] = where.currency
        if not where.include_bench and totals:
            parts.append("NOT bench")
        elif not where.include_bench and "bench" in ids:
            parts.append("tag_id <> %(bench)s")
            params["bench"] = ids["bench"]
        return "".join(f" AND {p}" for p in parts), params

    def groups(self, days: Days, *, by: tuple[str, ...], where: Where) -> list[list[DayGroup]]:
        from relaycli.ledger.queries import DayGroup

        if not days:
            return []
        bounds = [start for _, start, _ in days] + [days[-1][2]]
        rollup = _whole_hours(bounds)
        self.used_rollup = rollup
        extra = [_DIMENSION_COLUMNS[d] for d in by if d in _DIMENSION_COLUMNS]
        totals = rollup and not extra
        time, table = ("hour", "hourly_totals" if totals else "hourly") if rollup else ("ts", "requests")
        self.table = table
        sums = [f"SUM({s})" for s in SUMS] if rollup else [f"SUM({ROW_SUMS[s]})" for s in SUMS]
        model = _MODEL if "model" in by else f"CASE WHEN unpriced <> 0 THEN {_MODEL} ELSE 0 END"
        clause, params = self._filters(where, totals=totals)
        keys = ", ".join(["d", "m", "profile_id", "currency", "unpriced", *extra])
        sql = (
            f"SELECT width_bucket({time}, %(bounds)s::timestamptz[]) AS d, {model} AS m, profile_id, currency,"
            f" unpriced{''.join(', ' + e for e in extra)}, {', '.join(sums)}"
            f" FROM {table} WHERE {time} >= %(low)s AND {time} < %(high)s{clause} GROUP BY {keys}"
        )
        params.update(
            bounds=[parse_timestamp(b) for b in bounds],
            low=parse_timestamp(bounds[0]),
            high=parse_timestamp(bounds[-1]),
        )
        rows = self.store.query(sql, params, doing="read the team ledger from")
        named = [1, 2] + [5 + extra.index(c) for c in ("tag_id", "user_id") if c in extra]
        names = self._names({row[i] for row in rows for i in named})
        machines = self._machines() if "machine_id" in extra else {}
        out: list[list[DayGroup]] = [[] for _ in days]
        for row in rows:
            day, model_id, profile_id, currency, unpriced = row[:5]
            dims = dict(zip(extra, row[5 : 5 + len(extra)], strict=True))
            s = dict(zip(SUMS, (int(v or 0) for v in row[5 + len(extra) :]), strict=True))
            out[day - 1].append(
                DayGroup(
                    names.get(model_id) if model_id else None,
                    names.get(profile_id, "?"),
                    currency,
                    unpriced or None,
                    s["requests"],
                    s["errors"],
                    s["prompt_tokens"],
                    s["completion_tokens"],
                    s["cached_tokens"],
                    s["cache_write_tokens"],
                    s["cost_usd"] if s["cost_n"] else None,
                    s["cost_billed"] if s["billed_n"] else None,
                    prompt_reported=s["prompt_reported"],
                    completion_reported=s["completion_reported"],
                    prompt_unknown=s["prompt_unknown"],
                    completion_unknown=s["completion_unknown"],
                    cache_hits=s["cache_hits"],
                    saved_usd=s["saved_usd"] if s["saved_usd_n"] else None,
                    saved_billed=s["saved_billed"] if s["saved_billed_n"] else None,
                    saved_unknown=s["saved_unknown"],
                    tag=names.get(dims["tag_id"]) if dims.get("tag_id") else None,
                    user=names.get(dims["user_id"], "?") if "user_id" in dims else None,
                    machine=machines.get(dims["machine_id"], "?") if "machine_id" in dims else None,
                )
            )
        return out

    def _names(self, ids: set[int]) -> dict[int, str]:
        wanted = [i for i in ids if i]
        if not wanted:
            return {}
        return dict(self.store.query("SELECT id, name FROM names WHERE id = ANY(%s)", (wanted,)))

    def _machines(self) -> dict[int, str]:
        return dict(self.store.query("SELECT id, label FROM machines"))

    def month_spend(self, *, since: str, until: str, currency: str, user: str | None = None) -> Decimal:
        """What the team (or ``user``) was billed in ``currency`` with ``since <= ts < until`` (pico-units
        summed exactly, bench rows included as in profile budgets)."""
        rollup = _whole_hours([since, until])
        time, table = (
            ("hour", "hourly") if rollup and user else ("hour", "hourly_totals") if rollup else ("ts", "requests")
        )
        column = "cost_billed" if rollup else "COALESCE(cost_billed, 0)"
        sql = f"SELECT SUM({column}) FROM {table} WHERE {time} >= %s AND {time} < %s AND currency = %s"
        params: list[Any] = [parse_timestamp(since), parse_timestamp(until), currency]
        if user is not None:
            ids = self._ids([user])
            if user not in ids:
                return Decimal(0)
            sql += " AND user_id = %s"
            params.append(ids[user])
        ((total,),) = self.store.query(sql, params)
        return Decimal(int(total or 0)).scaleb(-12)

    def users(self) -> list[str]:
        """Everyone who has pushed rows."""
        rows = self.store.query("SELECT DISTINCT n.name FROM hourly h JOIN names n ON n.id = h.user_id ORDER BY 1")
        return [name for (name,) in rows]
