"""A :class:`~relaycli.usage.report.Report` as JSON, CSV and table cells. Pure, apart from writing to a stream.

All three walk the same rows in the same order (:func:`lines`), so they always agree. Money in JSON and
CSV is an exact decimal string (``"12.3456"``, no exponent, no trailing zeros; ``null``/empty when
unknown), never a binary float; counts are integers. A token count no request of a row reported is
unknown (``null``, ``?`` in the table), never 0; ``*_tokens_unknown`` says how many requests did not
report theirs, and the table marks a sum that leaves some out with ``+`` ("at least").

Cache hits (requests answered from the response cache): ``cache_hits``, ``cache_hit_rate`` (hits /
requests as a decimal fraction, ``"0.3333"``; a percentage in the table) and what they saved,
``cache_saved_usd`` and ``cache_saved_billed`` (the known savings; ``null`` when every hit's is unknown),
with ``cache_saved_unknown`` hits left out of them (``+`` in the table). The table shows these columns only
when the report holds a hit, and they are the first it leaves out on a narrow terminal.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TextIO

from relaycli.output.money import decimal_string
from relaycli.usage.budget import Spend
from relaycli.usage.money import SYMBOLS, format_money
from relaycli.usage.report import DIMENSIONS, Line, Report

__all__ = ["NUMBERS", "Cells", "lines", "table_cells", "to_json", "write_csv"]

NUMBERS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "billed",
    "currency",
    "direct_billed",
    "savings",
    "unpriced_requests",
    "prompt_tokens_unknown",
    "completion_tokens_unknown",
    "cache_hits",
    "cache_hit_rate",
    "cache_saved_usd",
    "cache_saved_billed",
    "cache_saved_unknown",
)
_MONEY = ("cost_usd", "billed", "direct_billed", "savings", "cache_saved_usd", "cache_saved_billed")
_DECIMALS = (*_MONEY, "cache_hit_rate")


money = decimal_string


def tokens(line: Line, name: str) -> tuple[int | None, bool]:
    """``line``'s sum of ``prompt`` or ``completion`` tokens (``None``: no request reported it), and whether
    some requests did not report theirs (the sum is then a lower bound)."""
    unknown: int = getattr(line, f"{name}_unknown")
    total: int = getattr(line, f"{name}_tokens")
    if unknown and not getattr(line, f"{name}_reported"):
        return None, True
    return total, unknown > 0


def key_names(report: Report) -> list[str]:
    return ["period" if d in ("day", "month") else d for d in report.by]


def line_json(line: Line, *, keys: Sequence[str] = ()) -> dict[str, Any]:
    """A row's figures; ``keys`` names the grouping keys, ``None`` in a total (same keys as the rows)."""
    values = dict(line.key)
    out: dict[str, Any] = {name: values.get(name) for name in keys}
    for name in NUMBERS:
        if name.endswith("_tokens_unknown"):
            out[name] = getattr(line, name.replace("_tokens", ""))
        elif name in ("prompt_tokens", "completion_tokens"):
            out[name] = tokens(line, name.removesuffix("_tokens"))[0]
        elif name in ("cached_tokens", "cache_write_tokens") and tokens(line, "prompt")[0] is None:
            out[name] = None  # part of an input no request reported: unknown too, never 0
        else:
            value = getattr(line, name)
            out[name] = decimal_string(value) if name in _DECIMALS else value
    return out


def budget_json(spend: Spend) -> dict[str, Any]:
    who = {"profile": spend.profile} if spend.scope == "profile" else {"scope": spend.scope, "name": spend.profile}
    return {
        **who,
        "month": spend.month,
        "budget": money(spend.budget),
        "spent": money(spend.spent),
        "currency": spend.currency,
        "percent": spend.percent,
        "action": spend.action,
    }


def to_json(report: Report, budgets: Sequence[Spend] = ()) -> dict[str, Any]:
    projection = report.projection
    keys = key_names(report)
    return {
        "by": list(report.by),
        "timezone": report.zone,
        "from": report.first.isoformat() if report.first else None,
        "to": report.last.isoformat() if report.last else None,
        "currencies": list(report.currencies),
        "rows": [line_json(line, keys=keys) for line in report.rows],
        "totals": line_json(report.totals, keys=keys),
        "totals_by_currency": [line_json(line, keys=keys) for line in report.totals_by_currency],
        "unpriced": [{"model": u.model, "requests": u.requests, "reason": u.reason} for u in report.unpriced],
        "budgets": [budget_json(spend) for spend in budgets],
        "projection": None
        if projection is None
        else {
            "method": "linear on the days elapsed",
            "month": projection.month,
            "days_elapsed": str(projection.days_elapsed),
            "days_in_month": projection.days_in_month,
            "rows": [line_json(line, keys=keys) for line in projection.rows],
        },
        "notes": list(report.compare_notes),
    }


def lines(report: Report) -> Iterator[tuple[str, Line]]:
    """Every line the table and the CSV show, in order: ``("row" | "total" | "projected", line)``."""
    for line in report.rows:
        yield "row", line
    if len(report.currencies) > 1:
        for line in report.totals_by_currency:
            yield "total", line
    yield "total", report.totals
    if report.projection is not None:
        for line in report.projection.rows:
            yield "projected", line


def write_csv(out: TextIO, report: Report) -> None:
    keys = key_names(report)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["type", *keys, *NUMBERS])
    for kind, line in lines(report):
        cells = [dict(line.key).get(k, "") for k in keys]
        values = line_json(line)
        writer.writerow([kind, *cells, *("" if values[n] is None else values[n] for n in NUMBERS)])


# --- the table -----------------------------------------------------------------------------------------------


def _count(value: int) -> str:
    return f"{value:,}"


def _tokens(line: Line, name: str, show: Callable[[int], str]) -> str:
    total, partial = tokens(line, name)
    return "?" if total is None else show(total) + ("+" if partial else "")


def _short(value: int) -> str:
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if abs(value) >= size:
            return f"{Decimal(value) / size:.1f}{suffix}"
    return str(value)


def _percent(line: Line) -> str:
    if line.savings is None or not line.direct_billed:
        return "-"
    return f"{(line.savings * 100 / line.direct_billed).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)}%"


def _hit_rate(line: Line) -> str:
    """The hit rate as a percentage to one place (``33.3%``), from the same fraction JSON shows."""
    rate = line.cache_hit_rate
    if rate is None:
        return "-"
    percent = (rate * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return "<0.1%" if line.cache_hits and not percent else f"{percent}%"


def _cache_saved(line: Line, show: Callable[[Decimal | None, str], str]) -> str:
    """What the hits saved in the billed currency: ``+`` when some hits' savings are unknown, ``?`` when all
    are, ``-`` for a total over several currencies."""
    if line.cache_saved_billed is None:
        return "-" if line.currency is None else "?"
    return show(line.cache_saved_billed, line.currency or "") + ("+" if line.cache_saved_unknown else "")


def _money_short(amount: Decimal | None, currency: str) -> str:
    """Whole units from 100 up (``$13,635``), else as :func:`format_money`."""
    if amount is None or abs(amount) < 100:
        return format_money(amount, currency)
    return format_money(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN), currency)[:-3]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True, slots=True)
class Cells:
    columns: list[str]
    rows: list[list[str]]
    right: list[str]  # right-aligned columns
    sections: list[int]  # rows that start a section (the totals, the projection)
    bold: list[int]  # total rows
    drop: list[str] = field(default_factory=list)  # left out first on a narrow terminal
    left_out: list[str] = field(default_factory=list)  # compact: cache columns left out to fit 80 columns


def table_cells(report: Report, *, compact: bool) -> Cells:
    """The table's cells: thousands separators, currency symbols; ``compact`` fits 80 columns."""
    keys = key_names(report)
    headers = {
        "period": "day" if "day" in report.by else "month",
        **{d: d for d in DIMENSIONS if d not in ("day", "month")},
    }
    symbols = [SYMBOLS.get(c, c) for c in report.currencies]
    # The billed amounts carry their symbol; a currency column only when that is not enough.
    mixed = len(report.currencies) > 1 and (not compact or len(set(symbols)) < len(symbols))
    savings = report.has_savings
    unpriced = any(line.unpriced_requests for _, line in lines(report))
    hits = any(line.cache_hits for _, line in lines(report))  # the cache columns only when there are hits
    if compact:
        numbers = ["reqs", "in", "out", "USD", "billed"] + (["saved"] if savings else [])
        numbers += list(_COMPACT_CACHE) if hits else []
    else:
        numbers = ["requests", "errors", "input", "cached", "output", "cost (USD)", "billed"]
        numbers += ["direct", "saved"] if savings else []
        numbers += ["unpriced"] if unpriced else []
        numbers += list(_CACHE) if hits else []
    columns = [headers[k] for k in keys] + (["cur"] if mixed else []) + numbers
    rows: list[list[str]] = []
    sections: list[int] = []
    bold: list[int] = []
    previous = "row"
    for kind, line in lines(report):
        if kind != previous:
            sections.append(len(rows))
            previous = kind
        label = [dict(line.key).get(k, "") for k in keys]
        currency = line.currency or ""
        if kind == "total":
            bold.append(len(rows))
            total = "total" if mixed or len(report.currencies) < 2 else f"total {currency or 'all'}"
            label = [total] + [""] * (len(keys) - 1)
        elif kind == "projected" and label:
            label[0] += "*" if compact else " (projected)"
        cells = label + ([currency or "all"] if mixed else [])
        billed = "-" if line.billed is None and line.currency is None else format_money(line.billed, currency)
        if compact:
            billed = "-" if line.billed is None and line.currency is None else _money_short(line.billed, currency)
            cells += [
                _count(line.requests),
                _tokens(line, "prompt", _short),
                _tokens(line, "completion", _short),
                _money_short(line.cost_usd, "USD"),
                billed,
            ]
            cells += [_percent(line)] if savings else []
            cells += [_hit_rate(line), _cache_saved(line, _money_short)] if hits else []
        else:
            cells += [
                _count(line.requests),
                _count(line.errors),
                _tokens(line, "prompt", _count),
                "?" if tokens(line, "prompt")[0] is None else _count(line.cached_tokens),
                _tokens(line, "completion", _count),
                format_money(line.cost_usd, "USD"),
                billed,
            ]
            if savings:
                cells += [
                    "-" if line.direct_billed is None else format_money(line.direct_billed, currency),
                    "-" if line.savings is None else format_money(line.savings, currency),
                ]
            cells += [_count(line.unpriced_requests)] if unpriced else []
            cells += [_count(line.cache_hits), _hit_rate(line), _cache_saved(line, format_money)] if hits else []
        rows.append(cells)
    left_out: list[str] = []
    if compact:
        names = [headers[k] for k in keys if k != "period"]
        left_out = _fit_compact(columns, rows, names)
    drop = [c for c in (_COMPACT_DROP_FIRST if compact else _DROP_FIRST) if c in columns]
    return Cells(columns, rows, [n for n in numbers if n in columns], sections, bold, drop, left_out)


# The cache columns, shown when the report holds a cache hit: hits, hit rate, what they saved (billed).
_CACHE = ("hits", "hit rate", "cache saved")
_COMPACT_CACHE = ("hit%", "c.saved")
# The figures a narrow terminal loses first (--json and --csv keep them all); --compact fits 80 columns and
# loses its own least important figures only on a terminal narrower than that. The cache columns go first.
_DROP_FIRST = (*_CACHE, "cached", "errors", "direct", "unpriced", "cost (USD)", "saved", "requests")
_COMPACT_DROP_FIRST = (*_COMPACT_CACHE, "reqs", "USD", "saved")


COMPACT_WIDTH = 80
_GAP = 2  # between columns


def _fit_compact(columns: list[str], rows: list[list[str]], names: list[str]) -> list[str]:
    """Fit the compact table in 80 columns: cut the names (:func:`_shrink`), and when that is not enough,
    leave out the cache columns, the least important first (then cut the names again, only as far as the
    remaining columns need). Returns the columns left out."""
    left_out: list[str] = []
    while True:
        fitted_columns, fitted = list(columns), [list(row) for row in rows]
        _shrink(fitted_columns, fitted, [columns.index(name) for name in names])
        extra = [c for c in _COMPACT_CACHE if c in columns]
        if not extra or _width(fitted_columns, fitted) <= COMPACT_WIDTH:
            columns[:], rows[:] = fitted_columns, fitted
            return left_out
        index = columns.index(extra[0])
        del columns[index]
        for row in rows:
            del row[index]
        left_out.append(extra[0])


def _widths(columns: list[str], rows: list[list[str]]) -> list[int]:
    return [max([len(columns[i]), *(len(row[i]) for row in rows)]) for i in range(len(columns))]


def _width(columns: list[str], rows: list[list[str]]) -> int:
    return sum(_widths(columns, rows)) + _GAP * (len(columns) - 1)


def _shrink(columns: list[str], rows: list[list[str]], names: list[int], *, limit: int = COMPACT_WIDTH) -> None:
    """Cut the longest model/profile names (with an ellipsis, down to 8 characters) until rows fit."""
    while rows:
        sizes = _widths(columns, rows)
        excess = sum(sizes) + _GAP * (len(sizes) - 1) - limit
        candidates = [i for i in names if sizes[i] > 8]
        if excess <= 0 or not candidates:
            return
        widest = max(candidates, key=lambda i: sizes[i])
        width = max(8, sizes[widest] - excess)
        for row in rows:
            row[widest] = _fit(row[widest], width)
