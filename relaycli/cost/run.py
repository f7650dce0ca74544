"""The body of ``relay cost``: flags -> a window of local days -> ledger groups -> one report -> output.

Also ``--reprice``: recompute the stored costs of the selected requests with the current price table
and ``[prices]`` overrides (a row keeps the billing rate it was recorded with).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

from relaycli.errors import UsageError
from relaycli.usage.periods import (
    Zone,
    day_ranges,
    next_month,
    parse_day,
    parse_month,
    parse_timestamp,
    resolve_zone,
    timestamp,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from relaycli.config.profile import Profile
    from relaycli.cost.source import Days, ReportSource
    from relaycli.ledger import Ledger
    from relaycli.ledger.queries import CostUpdate, DayGroup, UsageRow, Where
    from relaycli.output.streams import Streams
    from relaycli.usage.budget import Spend
    from relaycli.usage.prices import Price, PriceTable
    from relaycli.usage.report import Report

Output = Literal["table", "json", "csv"]


class TeamReports(Protocol):
    """The team ledger as ``relay cost --team`` reads it (``team.source.TeamSource``)."""

    def span(self, since: str | None, until: str | None) -> tuple[str, str] | None: ...
    def groups(self, days: Days, *, by: tuple[str, ...], where: Where) -> list[list[DayGroup]]: ...
    def budgets(self, zone: Zone, now: datetime, currency: str | None) -> list[Spend]: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CostOptions:
    by: str = "month"
    month: str | None = None
    since: str | None = None
    until: str | None = None
    profiles: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    timezone: str | None = None
    currency: str | None = None
    include_bench: bool = False
    output: Output = "table"
    compact: bool = False
    reprice: bool = False
    project: int = 0
    team: bool = False  # report from the team ledger (PostgreSQL) instead of this machine's


@dataclass(frozen=True, slots=True)
class Window:
    """The local days asked for (inclusive; None = open) and their UTC bounds ``[since, until)``."""

    first: date | None
    last: date | None
    since: str | None
    until: str | None


def window(options: CostOptions, zone: Zone) -> Window:
    if options.month and (options.since or options.until):
        raise UsageError("--month cannot be combined with --since/--until")
    first = last = None
    if options.month:
        first = parse_month(options.month)
        last = next_month(first) - timedelta(days=1)
    if options.since:
        first = parse_day(options.since, "--since")
    if options.until:
        last = parse_day(options.until, "--until")
    if first and last and first > last:
        raise UsageError(f"--since {first} is after --until {last}")
    return Window(
        first,
        last,
        timestamp(zone.midnight(first)) if first else None,
        timestamp(zone.midnight(last + timedelta(days=1))) if last else None,
    )


@dataclass(frozen=True, slots=True)
class CostInputs:
    """What ``relay cost`` reads: the ledger (opened only when it exists), the profiles and the prices."""

    ledger_path: Path
    ledger: Callable[[], Ledger]
    profiles: Mapping[str, Profile]
    prices: Callable[[], PriceTable]
    env: Mapping[str, str]
    team: Callable[[], TeamReports] | None = None  # opens the team ledger (``relay cost --team``)


def run_cost(inputs: CostInputs, streams: Streams, options: CostOptions, *, now: datetime | None = None) -> int:
    from relaycli.usage.report import parse_by

    now = now or datetime.now(UTC)
    by = parse_by(options.by, team=options.team)
    zone = resolve_zone(options.timezone, inputs.env)
    span_of = window(options, zone)
    currency = _currency(options.currency)
    if options.project:
        _check_projection(by, span_of, zone, now)
    if options.team:
        return _run_team(inputs, streams, options, by=by, zone=zone, span_of=span_of, currency=currency, now=now)
    if not inputs.ledger_path.exists():
        streams.note(f"no requests recorded yet ({inputs.ledger_path} does not exist)")
        _emit(streams, options, _empty(by, zone, options.project, now), [])
        return 0
    ledger = inputs.ledger()
    where = _where(options, currency)
    if options.reprice:
        streams.note(reprice(inputs.prices(), ledger, span_of, where))
    report = build(
        inputs.profiles, ledger, by=by, zone=zone, span_of=span_of, where=where, project=options.project, now=now
    )
    budgets = budgets_for(inputs.profiles, ledger, zone, options, currency, now)
    if not report.rows:
        selected = options.profiles or options.models or currency or span_of.first or span_of.last
        if report.first is None and not selected:
            streams.note("no requests recorded yet")
        else:
            bench = "" if options.include_bench else " (`relay bench` requests are left out: --include-bench)"
            streams.note(f"no requests match this selection{bench}")
    _emit(streams, options, report, budgets)
    return 0


def _run_team(
    inputs: CostInputs,
    streams: Streams,
    options: CostOptions,
    *,
    by: tuple[str, ...],
    zone: Zone,
    span_of: Window,
    currency: str | None,
    now: datetime,
) -> int:
    """``relay cost --team``: the same report, read from the team ledger, with the team's budgets."""
    if options.reprice:
        raise UsageError(
            "--reprice recomputes this machine's ledger; it cannot be combined with --team",
            hint="run `relay cost --reprice` on each machine, then push",
        )
    if inputs.team is None:
        raise UsageError("this relay cannot read a team ledger")
    source = inputs.team()
    try:
        where = _where(options, currency)
        report = build(
            inputs.profiles, source, by=by, zone=zone, span_of=span_of, where=where, project=options.project, now=now
        )
        budgets = source.budgets(zone, now, currency)
    finally:
        source.close()
    if not report.rows:
        streams.note("no requests match this selection in the team ledger")
    _emit(streams, options, report, budgets)
    return 0


def _currency(code: str | None) -> str | None:
    if code is None:
        return None
    if len(code) != 3 or not code.isalpha():
        raise UsageError(f"--currency: expected a 3-letter code such as USD or CNY, got {code!r}")
    return code.upper()


def _where(options: CostOptions, currency: str | None) -> Where:
    from relaycli.ledger.queries import Where

    return Where(
        profiles=options.profiles, models=options.models, currency=currency, include_bench=options.include_bench
    )


def _check_projection(by: tuple[str, ...], span_of: Window, zone: Zone, now: datetime) -> None:
    if "month" not in by:
        raise UsageError("--project needs --by month (optionally with model or profile)")
    today = zone.today(now)
    if (span_of.first and span_of.first > today.replace(day=1)) or (span_of.last and span_of.last < today):
        raise UsageError(
            f"--project scales the current month ({today:%Y-%m}) as recorded so far, and the "
            "selected dates leave part of it out",
            hint="drop --month/--since/--until",
        )


def build(
    profiles: Mapping[str, Profile],
    source: Ledger | ReportSource,
    *,
    by: tuple[str, ...],
    zone: Zone,
    span_of: Window,
    where: Where,
    project: int = 0,
    now: datetime | None = None,
) -> Report:
    """The report for the local days of ``span_of`` that hold requests, from ``source`` (a ledger is read
    through a ``LedgerSource``)."""
    from relaycli.cost.source import LedgerSource
    from relaycli.usage.report import assemble

    reader: ReportSource = source if hasattr(source, "groups") else LedgerSource(source)  # type: ignore[arg-type,assignment]
    compare = {name: profile.compare_to for name, profile in profiles.items()}
    bounds = reader.span(span_of.since, span_of.until)
    if bounds is None:
        return assemble([], by=by, zone=zone, compare=compare, project=project, now=now)
    first = zone.local_date(parse_timestamp(bounds[0]))
    last = zone.local_date(parse_timestamp(bounds[1]))
    first, last = max(first, span_of.first or first), min(last, span_of.last or last)
    days = day_ranges(zone, first, last)
    groups = reader.groups(days, by=by, where=where) if days else []
    return assemble(
        zip((day for day, _, _ in days), groups, strict=True),
        by=by,
        zone=zone,
        compare=compare,
        first=first,
        last=last,
        project=project,
        now=now,
    )


def budgets_for(
    profiles: Mapping[str, Profile],
    ledger: Ledger,
    zone: Zone,
    options: CostOptions,
    currency: str | None,
    now: datetime,
) -> list[Spend]:
    from relaycli.usage.budget import month_to_date

    chosen = [
        profile
        for name, profile in sorted(profiles.items())
        if profile.budget is not None
        and (not options.profiles or name in options.profiles)
        and (currency is None or profile.billing.currency == currency)
    ]
    return [month_to_date(ledger, profile, now=now, zone=zone) for profile in chosen]


def _empty(by: tuple[str, ...], zone: Zone, project: int, now: datetime) -> Report:
    from relaycli.usage.report import assemble

    return assemble([], by=by, zone=zone, compare={}, project=project, now=now)


# --- output ------------------------------------------------------------------------------------------------


def _emit(streams: Streams, options: CostOptions, report: Report, budgets: list[Spend]) -> None:
    from relaycli.cost import view as cost_view

    if options.output == "json":
        streams.stdout.write(json.dumps(cost_view.to_json(report, budgets), ensure_ascii=False) + "\n")
        return
    if options.output == "csv":
        cost_view.write_csv(streams.stdout, report)
    elif report.rows:
        from relaycli.output.tables import sectioned_table

        cells = cost_view.table_cells(report, compact=options.compact)
        title = f"Cost by {', '.join(report.by)} ({report.zone}, {report.first} to {report.last})"
        if report.projection is not None and options.compact:
            title += "; * projected"
        wide = sectioned_table(
            streams.stdout,
            isatty=streams.stdout_isatty,
            title=title,
            columns=cells.columns,
            rows=cells.rows,
            right=cells.right,
            sections=cells.sections,
            bold=cells.bold,
            drop=cells.drop,
            note=streams.note,
        )
        if wide and not options.compact:
            streams.note("the table is wider than the terminal; --compact draws a narrower one")
        if cells.left_out:
            from relaycli.output.tables import dropped_message

            streams.note(dropped_message(cells.left_out, cost_view.COMPACT_WIDTH))
    for note in notes(report, budgets):
        streams.note(note)


def notes(report: Report, budgets: list[Spend]) -> list[str]:
    """What the table cannot say: unpriced requests, cache hits with an unknown saving, budgets, the
    projection's basis."""
    out: list[str] = []
    if report.unpriced:
        count = sum(u.requests for u in report.unpriced)
        named = ", ".join(f"{u.model} ({u.requests:,}, {u.reason})" for u in report.unpriced)
        out.append(f"{count:,} request{'s' if count != 1 else ''} unpriced: {named}; the costs above leave them out")
        missing = [u.model for u in report.unpriced if u.reason == "no price"]
        if missing:
            out.append(
                f'to price them, add [prices."{missing[0]}"] (USD per 1M tokens) to the config, then run '
                "`relay cost --reprice`"
            )
    unknown = report.totals.cache_saved_unknown
    if unknown:
        out.append(
            f"{unknown:,} cache hit{'s' if unknown != 1 else ''} saved an unknown amount (no price or unknown "
            "usage); what the cache saved leaves them out"
        )
    out.extend(report.compare_notes)
    for spend in budgets:
        state = "OVER BUDGET" if spend.over else "budget"
        if spend.scope == "profile":
            out.append(
                f"{state}: profile {spend.profile!r} has spent {spend.figures()} (budget_action = {spend.action})"
            )
        else:
            who = "the team" if spend.scope == "team" else f"user {spend.profile!r}"
            out.append(f"team {state}: {who} has spent {spend.figures()}")
    if report.projection is not None:
        p = report.projection
        out.append(
            f"projection: {p.month} so far, scaled linearly from {p.days_elapsed} of {p.days_in_month} "
            "days; rows marked projected are estimates, not spend"
        )
    return out


# --- repricing ---------------------------------------------------------------------------------------------


def reprice(prices: PriceTable, ledger: Ledger, span_of: Window, where: Where) -> str:
    """Recompute the cost of every selected row whose price in the current table differs from the one
    it was costed with (including rows that had no price), and of every row whose cache writes were
    costed before their 1-hour part was stored (it is read from the raw usage). A request answered from
    the response cache keeps its cost of 0; what it saved is recomputed instead. Returns a one-line
    summary."""
    from relaycli.ledger.queries import price_keys, unsplit_writes, update_costs, usage_for

    updates: list[CostUpdate] = []
    newly, lost, changed = 0, 0, 0
    current: set[tuple[str | None, str, str | None]] = set()
    for key in price_keys(ledger, since=span_of.since, until=span_of.until, where=where):
        price = _price_of(prices, key.model_answered, key.model_requested)
        new = price.as_dict() if price is not None else None
        if new == (json.loads(key.price_json) if key.price_json else None):
            current.add((key.model_answered, key.model_requested, key.price_json))
            continue
        newly += key.requests if key.price_json is None else 0
        lost += key.requests if price is None else 0
        for usage in usage_for(ledger, key, since=span_of.since, until=span_of.until, where=where):
            updates.append(_recosted(price, usage))
            changed += 1
    for answered, requested, price_json, usage in unsplit_writes(
        ledger, since=span_of.since, until=span_of.until, where=where
    ):
        price = _price_of(prices, answered, requested)
        if (answered, requested, price_json) not in current or price is None:
            continue  # repriced above, or unpriced
        update = _recosted(price, usage)
        if update.cache_write_1h is None:
            continue  # the 1-hour part cannot be told from what was stored
        updates.append(update)
        changed += 1 if update.cache_write_1h else 0  # no 1-hour writes: the cost stays as it was
    if not updates:
        return "reprice: every selected request already has the current price"
    update_costs(ledger, updates)
    if not changed:
        return "reprice: every selected request already has the current price"
    extra = [f"{newly:,} newly priced" if newly else "", f"{lost:,} no longer priced" if lost else ""]
    detail = "; ".join(e for e in extra if e)
    return f"repriced {changed:,} request{'s' if changed != 1 else ''} with the current prices" + (
        f" ({detail})" if detail else ""
    )


def _price_of(prices: PriceTable, answered: str | None, requested: str) -> Price | None:
    return (prices.lookup(answered) if answered else None) or prices.lookup(requested)


def _recosted(price: Price | None, usage: UsageRow) -> CostUpdate:
    """A row's costs at ``price`` (for a cache hit: its saving, the cost staying 0)."""
    from relaycli.config.profile import Billing
    from relaycli.datatypes import Usage
    from relaycli.ledger.queries import CostUpdate
    from relaycli.usage.prices import billed, cost_usd

    rowid, prompt, completion, cached, written, written_1h, protocol, raw, per_usd, hit = usage
    if written_1h is None and written is not None:
        written_1h = _one_hour_writes(protocol, raw)
    usd = cost_usd(
        Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            cache_write_tokens=written,
            cache_write_1h_tokens=written_1h,
        ),
        price,
    )
    amount = None if usd is None else billed(usd, Billing(per_usd=Decimal(per_usd)))
    text = (
        None
        if price is None
        else json.dumps(price.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )
    source = price.source if price else None
    if hit:
        free = Decimal(0)
        return CostUpdate(
            rowid, source, text, free, free, saved_usd=usd, saved_billed=amount, cache_write_1h=written_1h
        )
    return CostUpdate(rowid, source, text, usd, amount, cache_write_1h=written_1h)


def _one_hour_writes(protocol: str, raw: str | None) -> int | None:
    """The 1-hour cache writes in a row's raw usage (Anthropic's ``cache_creation``), or None if unknown."""
    if protocol != "anthropic" or not raw:
        return None
    from relaycli.core.formats.anthropic import cache_writes

    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    return cache_writes(usage)[1] if isinstance(usage, dict) else None
