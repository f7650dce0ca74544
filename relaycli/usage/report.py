"""A cost report, assembled once from per-day ledger groups: rows, totals, unpriced requests, what the
same requests would have cost direct, and a projection of the current month. Pure: no I/O.

The table, ``--json`` and ``--csv`` are all drawn from one :class:`Report` (see ``cost_view.py``), so
they cannot disagree.

Rules, kept in one place:

* A row never mixes currencies: rows are keyed by what ``--by`` asks for *and* the billing currency.
* ``cost_usd``/``billed`` are exact sums over the priced requests. They are ``None`` ("unpriced") when
  a row has unpriced requests and no priced one, never ``0``; a row with unpriced requests says how many.
* A failed request that reported no usage (the endpoint refused it) costs nothing and is not unpriced.
* ``direct_billed`` is what the requests would have cost without the relay: ``cost_usd`` times the
  ``per_usd`` of the profile's ``compare_to`` in the config *now*, and the billed amount itself for
  profiles without a ``compare_to``. ``savings = direct_billed - billed``. Both are ``None`` for a row
  where no profile has a ``compare_to``, or where one compares in another currency than it bills in.
* A request answered from the response cache (a cache hit) costs 0, priced model or not, and is never
  unpriced. What it would have cost had it been sent is its saving: ``cache_saved_usd``/``_billed`` sum
  the known savings, ``cache_saved_unknown`` counts the hits whose saving is unknown (an unpriced model,
  unknown usage), and the sum is ``None`` when every hit's saving is unknown, never ``0`` (a row without
  hits saved a known 0). A hit adds nothing to ``direct_billed`` either: it was not sent, direct or not.
* ``cache_hit_rate`` is hits / requests, rounded half-even to 4 decimal places (``None`` without requests).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from relaycli.config.profile import Billing
from relaycli.errors import UsageError
from relaycli.ledger.queries import DayGroup
from relaycli.usage.periods import Zone, next_month

__all__ = ["DIMENSIONS", "Line", "Projection", "Report", "Unpriced", "assemble", "parse_by"]

DIMENSIONS = ("day", "month", "model", "profile", "tag", "user", "machine")
TEAM_ONLY = ("user", "machine")  # known only to the team ledger (``relay cost --team``)
_MICRO = Decimal("0.000001")
_RATE = Decimal("0.0001")


def parse_by(text: str, *, team: bool = True) -> tuple[str, ...]:
    """``--by month,model`` -> ``("month", "model")``; at most one of day and month; ``user`` and
    ``machine`` only for a ``team`` report."""
    parts = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in DIMENSIONS]
    if not parts or unknown:
        raise UsageError(
            f"--by: unknown grouping {', '.join(unknown) or text!r}",
            hint="use day, month, model, profile, tag, user or machine, comma-separated: --by month,model",
        )
    local = [p for p in parts if p in TEAM_ONLY and not team]
    if local:
        raise UsageError(
            f"--by {local[0]}: the local ledger is this machine's own; grouping by {local[0]} needs the team ledger",
            hint=f"relay cost --team --by {text}",
        )
    if "day" in parts and "month" in parts:
        raise UsageError("--by: choose day or month, not both")
    if len(set(parts)) != len(parts):
        raise UsageError(f"--by: {text!r} names a grouping twice")
    return parts


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the report (or a total). ``key`` holds the ``--by`` values: period, model, profile, tag,
    user, machine (a row without a tag has ``""``)."""

    key: tuple[tuple[str, str], ...]
    currency: str | None
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal | None
    billed: Decimal | None
    direct_billed: Decimal | None
    savings: Decimal | None
    unpriced_requests: int
    prompt_reported: int = 0  # requests that reported their prompt/completion counts, and those that did not
    completion_reported: int = 0
    prompt_unknown: int = 0
    completion_unknown: int = 0
    cache_hits: int = 0  # requests answered from the response cache (cost 0)
    cache_saved_usd: Decimal | None = Decimal(0)  # what the hits would have cost (known savings only)
    cache_saved_billed: Decimal | None = Decimal(0)
    cache_saved_unknown: int = 0  # hits whose saving is unknown, left out of the sums above

    def value(self, name: str) -> str | None:
        return dict(self.key).get(name)

    @property
    def cache_hit_rate(self) -> Decimal | None:
        """Hits / requests, to 4 decimal places (``0.3333``); ``None`` for a line without requests."""
        if not self.requests:
            return None
        return (Decimal(self.cache_hits) / self.requests).quantize(_RATE, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Unpriced:
    model: str
    requests: int
    reason: str  # "no price" | "unknown usage"


@dataclass(frozen=True, slots=True)
class Projection:
    """The current month's rows scaled linearly to whole months (``months`` of them from this one)."""

    month: str
    days_elapsed: Decimal
    days_in_month: int
    rows: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Report:
    by: tuple[str, ...]
    zone: str
    first: date | None  # the local days covered (None: the ledger is empty for this selection)
    last: date | None
    rows: tuple[Line, ...]
    totals: Line
    totals_by_currency: tuple[Line, ...]
    unpriced: tuple[Unpriced, ...]
    compare_notes: tuple[str, ...] = ()
    projection: Projection | None = None
    currencies: tuple[str, ...] = field(default=())

    @property
    def has_savings(self) -> bool:
        return any(line.direct_billed is not None for line in (*self.rows, self.totals, *self.totals_by_currency))


class _Sums:
    """Exact running sums for one row: ints only (money in pico-units); Decimals at the end."""

    __slots__ = (
        "requests",
        "errors",
        "priced",
        "prompt",
        "completion",
        "cached",
        "written",
        "usd",
        "billed",
        "unpriced",
        "by_profile",
        "reported",
        "hits",
        "saved_usd",
        "saved_billed",
        "saved_unknown",
    )

    def __init__(self) -> None:
        self.priced = 0  # groups with a cost: 0 means nothing in this row was priced
        self.requests = self.errors = self.unpriced = 0
        self.prompt = self.completion = self.cached = self.written = 0
        self.usd = self.billed = 0
        self.by_profile: dict[str, list[int]] = {}  # profile -> [usd pico, billed pico]
        self.reported = [0, 0, 0, 0]  # prompt, completion reported; prompt, completion unknown
        self.hits = self.saved_usd = self.saved_billed = self.saved_unknown = 0  # cache hits, savings in pico

    def add(self, g: DayGroup) -> None:
        self.hits += g.cache_hits
        self.saved_usd += g.saved_usd or 0
        self.saved_billed += g.saved_billed or 0
        self.saved_unknown += g.saved_unknown
        self.requests += g.requests
        self.errors += g.errors
        self.prompt += g.prompt_tokens
        self.completion += g.completion_tokens
        self.cached += g.cached_tokens
        self.written += g.cache_write_tokens
        for i, n in enumerate((g.prompt_reported, g.completion_reported, g.prompt_unknown, g.completion_unknown)):
            self.reported[i] += n
        if g.unpriced is not None:
            self.unpriced += g.requests
            return
        self.priced += g.cost_usd is not None
        usd, billed = g.cost_usd or 0, g.billed or 0
        self.usd += usd
        self.billed += billed
        pair = self.by_profile.setdefault(g.profile, [0, 0])
        pair[0] += usd
        pair[1] += billed

    def merge(self, other: _Sums) -> None:
        for name in (
            "requests",
            "errors",
            "priced",
            "unpriced",
            "prompt",
            "completion",
            "cached",
            "written",
            "usd",
            "billed",
            "hits",
            "saved_usd",
            "saved_billed",
            "saved_unknown",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reported = [a + b for a, b in zip(self.reported, other.reported, strict=True)]
        for profile, (usd, billed) in other.by_profile.items():
            pair = self.by_profile.setdefault(profile, [0, 0])
            pair[0] += usd
            pair[1] += billed

    def line(
        self,
        key: tuple[tuple[str, str], ...],
        currency: str | None,
        compare: Mapping[str, Billing | None],
        *,
        mixed: bool = False,
    ) -> Line:
        unknown = self.priced == 0 and self.unpriced > 0
        usd = None if unknown else _dec(self.usd)
        billed = None if unknown or mixed else _dec(self.billed)
        direct = None if mixed or billed is None else _direct(self.by_profile, currency, compare)
        saved_known = self.hits > self.saved_unknown or not self.hits  # no hits: a known 0
        return Line(
            key=key,
            currency=currency,
            requests=self.requests,
            errors=self.errors,
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            cached_tokens=self.cached,
            cache_write_tokens=self.written,
            cost_usd=usd,
            billed=billed,
            direct_billed=direct,
            savings=None if direct is None or billed is None else direct - billed,
            unpriced_requests=self.unpriced,
            prompt_reported=self.reported[0],
            completion_reported=self.reported[1],
            prompt_unknown=self.reported[2],
            completion_unknown=self.reported[3],
            cache_hits=self.hits,
            cache_saved_usd=_dec(self.saved_usd) if saved_known else None,
            cache_saved_billed=_dec(self.saved_billed) if saved_known and not mixed else None,
            cache_saved_unknown=self.saved_unknown,
        )


def _dec(pico: int) -> Decimal:
    return Decimal(pico).scaleb(-12)


def _direct(
    by_profile: Mapping[str, list[int]], currency: str | None, compare: Mapping[str, Billing | None]
) -> Decimal | None:
    """What the requests would have cost direct. A cache hit is in ``by_profile`` at a cost of 0 (USD and
    billed alike), so it adds 0 here and 0 to ``billed``: it was not sent, so going direct would have
    cost nothing either, and its saving is the cache's (``cache_saved_*``), never counted twice as a
    saving against direct."""
    total = Decimal(0)
    compared = False
    for profile, (usd, billed) in by_profile.items():
        other = compare.get(profile)
        if other is None:
            total += _dec(billed)
        elif other.currency != currency:
            return None
        else:
            compared = True
            total += _dec(usd) * other.per_usd
    return total if compared else None


def _period(day: date, by: Sequence[str]) -> str | None:
    if "day" in by:
        return day.isoformat()
    if "month" in by:
        return day.strftime("%Y-%m")
    return None


def _key(by: Sequence[str], period: str | None, g: DayGroup) -> tuple[tuple[str, str], ...]:
    values = {
        "day": period,
        "month": period,
        "model": g.model,
        "profile": g.profile,
        "tag": g.tag,
        "user": g.user,
        "machine": g.machine,
    }
    return tuple(("period" if d in ("day", "month") else d, values[d] or "") for d in by)


def assemble(
    days: Iterable[tuple[date, Sequence[DayGroup]]],
    *,
    by: Sequence[str],
    zone: Zone,
    compare: Mapping[str, Billing | None],
    first: date | None = None,
    last: date | None = None,
    project: int = 0,
    now: datetime | None = None,
) -> Report:
    """The report over ``days`` (each local day with its ledger groups), grouped as ``by`` asks."""
    by = tuple(by)
    lines: dict[tuple[tuple[tuple[str, str], ...], str], _Sums] = {}
    per_currency: dict[str, _Sums] = {}
    unpriced: Counter[tuple[str, int]] = Counter()
    for day, groups in days:
        period = _period(day, by)
        for g in groups:
            key = _key(by, period, g)
            sums = lines.get((key, g.currency))
            if sums is None:
                sums = lines[(key, g.currency)] = _Sums()
            sums.add(g)
            if g.unpriced is not None:
                unpriced[(g.model or "?", g.unpriced)] += g.requests
    for (_, currency), sums in lines.items():
        per_currency.setdefault(currency, _Sums()).merge(sums)
    rows = sorted((sums.line(key, currency, compare) for (key, currency), sums in lines.items()), key=_order)
    currencies = tuple(sorted(per_currency))
    overall = _Sums()
    for sums in per_currency.values():
        overall.merge(sums)
    totals = overall.line((), currencies[0] if len(currencies) == 1 else None, compare, mixed=len(currencies) != 1)
    by_currency = tuple(per_currency[c].line((), c, compare) for c in currencies)
    report = Report(
        by=by,
        zone=zone.name,
        first=first,
        last=last,
        rows=tuple(rows),
        totals=totals,
        totals_by_currency=by_currency,
        currencies=currencies,
        unpriced=tuple(
            Unpriced(model, n, "no price" if kind == 1 else "unknown usage")
            for (model, kind), n in sorted(unpriced.items(), key=lambda i: (-i[1], i[0]))
        ),
        compare_notes=_compare_notes(lines, compare),
    )
    if project:
        report = _with_projection(report, zone, project, now or datetime.now(UTC))
    return report


def _order(line: Line) -> tuple[object, ...]:
    period = line.value("period") or ""
    cost = -(line.cost_usd if line.cost_usd is not None else Decimal(-1))
    return (period, cost, line.key, line.currency or "")


def _compare_notes(
    lines: Mapping[tuple[tuple[tuple[str, str], ...], str], _Sums], compare: Mapping[str, Billing | None]
) -> tuple[str, ...]:
    notes = set()
    for (_, currency), sums in lines.items():
        for profile in sums.by_profile:
            other = compare.get(profile)
            if other is not None and other.currency != currency:
                notes.add(
                    f"profile {profile!r} is billed in {currency} but compare_to is in {other.currency}: "
                    "no direct-equivalent cost or savings for it"
                )
    return tuple(sorted(notes))


# --- projection ----------------------------------------------------------------------------------------------


def _with_projection(report: Report, zone: Zone, months: int, now: datetime) -> Report:
    """Scale the current month's rows by (length of month / time elapsed), linearly on elapsed days.

    ``months`` rows per key: this month to its end, then each following month at the same daily rate.
    """
    if "month" not in report.by:
        raise UsageError("--project needs --by month (optionally with model or profile)")
    month = zone.today(now).replace(day=1)
    start = zone.midnight(month)
    elapsed = Decimal((now.astimezone(UTC) - start).total_seconds()) / 86400
    elapsed = max(elapsed, Decimal("0.0416667"))  # at least an hour, so the first minutes don't explode
    current = [line for line in report.rows if line.value("period") == f"{month:%Y-%m}"]
    rows: list[Line] = []
    target = month
    for _ in range(months):
        length = Decimal((zone.midnight(next_month(target)) - zone.midnight(target)).total_seconds()) / 86400
        factor = length / elapsed
        label = f"{target:%Y-%m}"
        rows.extend(_scaled(line, factor, label) for line in current)
        target = next_month(target)
    projection = Projection(
        month=f"{month:%Y-%m}",
        days_in_month=(next_month(month) - month).days,
        days_elapsed=elapsed.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN),
        rows=tuple(rows),
    )
    return replace(report, projection=projection)


def _scaled(line: Line, factor: Decimal, period: str) -> Line:
    def count(value: int) -> int:
        return int((value * factor).to_integral_value(rounding=ROUND_HALF_EVEN))

    def money(value: Decimal | None) -> Decimal | None:
        return None if value is None else (value * factor).quantize(_MICRO, rounding=ROUND_HALF_EVEN)

    key = tuple((name, period if name == "period" else value) for name, value in line.key)
    direct, billed = money(line.direct_billed), money(line.billed)
    return Line(
        key=key,
        currency=line.currency,
        requests=count(line.requests),
        errors=count(line.errors),
        prompt_tokens=count(line.prompt_tokens),
        completion_tokens=count(line.completion_tokens),
        cached_tokens=count(line.cached_tokens),
        cache_write_tokens=count(line.cache_write_tokens),
        cost_usd=money(line.cost_usd),
        billed=billed,
        direct_billed=direct,
        savings=None if direct is None or billed is None else direct - billed,
        unpriced_requests=count(line.unpriced_requests),
        prompt_reported=count(line.prompt_reported),
        completion_reported=count(line.completion_reported),
        prompt_unknown=count(line.prompt_unknown),
        completion_unknown=count(line.completion_unknown),
        cache_hits=count(line.cache_hits),
        cache_saved_usd=money(line.cache_saved_usd),
        cache_saved_billed=money(line.cache_saved_billed),
        cache_saved_unknown=count(line.cache_saved_unknown),
    )
