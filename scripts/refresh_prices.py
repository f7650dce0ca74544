"""Regenerate relaycli/usage/data/prices.json from the genai-prices package.

    pip install genai-prices && python scripts/refresh_prices.py

genai-prices is a development dependency only: relay reads the JSON snapshot this script writes and never
imports genai-prices at run time. The output is deterministic: rows are sorted by provider priority and
model id, every object has sorted keys, and the ``generated`` date is kept unchanged when the prices are
(so rerunning the script on another day does not create a diff).

Rules applied to each model (also written into the file's ``notes``):

* prices are USD per 1M tokens, kept as decimal strings;
* tiered prices (a higher rate above some prompt size) keep the base tier;
* date-conditional prices keep the price active on the generation date, and prices that start later
  are kept in ``scheduled`` so relay switches to them on their start date;
* time-of-day prices (off-peak discounts, peak surcharges) keep the price active for most of the day;
* the 1-hour cache-write rate, service-tier variants and non-token units (images, audio, searches) are
  not modelled;
* a model with neither an input nor an output price is left out, unless its id ends with ``:free``
  (then it is free: 0 and 0); a model with only one of the two is left out (embeddings, OCR, speech).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from genai_prices import data, types

OUTPUT = Path(__file__).resolve().parent.parent / "relaycli" / "usage" / "data" / "prices.json"

# First-party providers first, then the hosts and aggregators that serve other vendors' models under the
# names relays forward. When two providers claim the same model name, the earlier one wins.
PROVIDERS: tuple[str, ...] = (
    "openai",
    "anthropic",
    "google",
    "deepseek",
    "mistral",
    "x-ai",
    "moonshotai",
    "zhipuai",
    "zai",
    "minimax",
    "cohere",
    "meta",
    "perplexity",
    "openrouter",
    "groq",
    "together",
    "fireworks",
    "cerebras",
)

COLUMNS: tuple[str, ...] = (
    "provider",
    "id",
    "input",
    "output",
    "cached_input",
    "cache_write",
    "context_window",
    "aliases",
    "prefixes",
    "note",
    "scheduled",
)

NOTES: dict[str, str] = {
    "units": "USD per 1M tokens, decimal strings",
    "cached_input": "price of prompt tokens read from the provider's cache; null: billed as input",
    "cache_write": "price of prompt tokens written to the cache (5-minute rate); null: billed as input",
    "tiers": "tiered prices keep the base (smallest prompt) tier",
    "dates": "prices starting after the generation date are listed in scheduled as "
    "[start_date, input, output, cached_input, cache_write]",
    "time_of_day": "time-of-day prices keep the price active for most of the day",
    "aliases": "exact names (lower case) the model answers to besides its id",
    "prefixes": "name prefixes (lower case) that select the model",
    "free": "models whose id ends with ':free' and that have no price are free",
}

PRICE_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


def _dec(value: Decimal | types.TieredPrices | None) -> tuple[str | None, bool]:
    """A price as a decimal string, and whether a tier was dropped."""
    if value is None:
        return None, False
    if isinstance(value, types.TieredPrices):
        return _fmt(value.base), True
    return _fmt(value), False


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _minutes(constraint: types.TimeOfDateConstraint) -> int:
    start = constraint.start_time.hour * 60 + constraint.start_time.minute
    end = constraint.end_time.hour * 60 + constraint.end_time.minute
    return (end - start) % (24 * 60)


def _choose(model: types.ModelInfo, today: date) -> tuple[types.ModelPrice, list[str], list[Any]]:
    """The price to keep for ``model`` on ``today``, notes about the choice, and scheduled changes."""
    if isinstance(model.prices, types.ModelPrice):
        return model.prices, [], []
    notes: list[str] = []
    base = model.prices[0].prices
    scheduled: list[tuple[date, types.ModelPrice]] = []
    by_time: list[tuple[int, types.ModelPrice]] = []
    for conditional in model.prices:
        constraint = conditional.constraint
        if constraint is None:
            base = conditional.prices
        elif isinstance(constraint, types.StartDateConstraint):
            if constraint.start_date <= today:
                base = conditional.prices
            else:
                scheduled.append((constraint.start_date, conditional.prices))
        elif isinstance(constraint, types.TimeOfDateConstraint):
            by_time.append((_minutes(constraint), conditional.prices))
    chosen = base
    if by_time:
        windows: dict[str, int] = {}
        prices: dict[str, types.ModelPrice] = {}
        for minutes, price in by_time:
            windows[str(price)] = windows.get(str(price), 0) + minutes
            prices[str(price)] = price
        base_minutes = 24 * 60 - sum(windows.values())
        best_key, best_minutes = max(windows.items(), key=lambda item: item[1])
        if best_minutes > base_minutes:
            chosen = prices[best_key]
        notes.append("time-of-day pricing: price active for most of the day (UTC)")
    later = [[d.isoformat(), *_four(p)[0]] for d, p in sorted(scheduled, key=lambda item: item[0])]
    if later:
        notes.append("price changes scheduled")
    return chosen, notes, later


def _four(price: types.ModelPrice) -> tuple[list[str | None], bool]:
    values = [_dec(getattr(price, key)) for key in PRICE_KEYS]
    return [v for v, _ in values], any(tiered for _, tiered in values)


def _clauses(match: Any) -> Iterator[Any]:
    if isinstance(match, types.ClauseOr):
        for clause in match.or_:
            yield from _clauses(clause)
    else:
        yield match


def _names(model: types.ModelInfo) -> tuple[list[str], list[str]]:
    own = model.id.lower()
    aliases = {c.equals.lower() for c in _clauses(model.match) if isinstance(c, types.ClauseEquals)}
    prefixes = {c.starts_with.lower() for c in _clauses(model.match) if isinstance(c, types.ClauseStartsWith)}
    return sorted(aliases - {own}), sorted(prefixes)


def _row(provider: str, model: types.ModelInfo, today: date) -> list[Any] | None:
    price, notes, later = _choose(model, today)
    (inp, out, cached, write), tiered = _four(price)
    if inp is None and out is None:
        if not model.id.endswith(":free"):
            return None
        inp, out = "0", "0"
        notes.append("free variant")
    elif inp is None or out is None:
        return None
    if tiered:
        notes.append("tiered pricing: base tier")
    aliases, prefixes = _names(model)
    return [
        provider,
        model.id,
        inp,
        out,
        cached,
        write,
        model.context_window,
        aliases,
        prefixes,
        "; ".join(notes) or None,
        later or None,
    ]


def build_rows(providers: Iterable[types.Provider], today: date) -> list[list[Any]]:
    by_id = {p.id: p for p in providers}
    rows: list[list[Any]] = []
    for provider_id in PROVIDERS:
        provider = by_id.get(provider_id)
        if provider is None:
            print(f"warning: genai-prices has no provider {provider_id!r}", file=sys.stderr)
            continue
        provider_rows = [row for m in provider.models if (row := _row(provider_id, m, today)) is not None]
        rows.extend(sorted(provider_rows, key=lambda row: row[1]))
    return rows


def render(header: dict[str, Any], rows: list[list[Any]]) -> str:
    """The file's text: sorted header keys, then one model per line (readable diffs, fast to parse)."""
    head = json.dumps(header, sort_keys=True, indent=1, ensure_ascii=False)
    body = ",\n".join("  " + json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows)
    return head[:-2] + ',\n "models": [\n' + body + "\n ]\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--date", type=date.fromisoformat, help="generation date (default: today, UTC)")
    args = parser.parse_args(argv)
    today: date = args.date or datetime.now(UTC).date()
    rows = build_rows(data.providers, today)
    header: dict[str, Any] = {
        "columns": list(COLUMNS),
        "format": 1,
        "generated": today.isoformat(),
        "notes": NOTES,
        "providers": list(PROVIDERS),
        "source": "genai-prices",
        "source_version": version("genai-prices"),
    }
    output: Path = args.output
    if output.exists() and args.date is None:
        old = json.loads(output.read_text(encoding="utf-8"))
        same = old.get("models") == rows and old.get("source_version") == header["source_version"]
        if same and isinstance(old.get("generated"), str):
            header["generated"] = old["generated"]
    text = render(header, rows)
    json.loads(text)  # the hand-assembled layout must stay valid JSON
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    summary = ", ".join(f"{p} {n}" for p, n in counts.items())
    print(f"wrote {output} ({len(rows)} models: {summary})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
