"""``relay models``: the endpoint's list merged with the profile's aliases and known prices."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from relaycli.config.profile import Profile
from relaycli.output.money import decimal_string

if TYPE_CHECKING:
    from relaycli.datatypes import ModelInfo
    from relaycli.output.streams import Streams
    from relaycli.usage.prices import PriceTable


def catalogue(
    offered: list[ModelInfo], profile: Profile, prices: PriceTable, search: str | None = None
) -> list[dict[str, Any]]:
    """The models ``profile``'s endpoint offers, with aliases, prices and context windows (JSON-ready)."""
    aliases: dict[str, list[str]] = {}
    for alias, target in profile.aliases.items():
        aliases.setdefault(target, []).append(alias)
    needle = (search or "").lower()
    entries = []
    for info in sorted(offered, key=lambda m: m.id):
        names = sorted(aliases.get(info.id, []))
        if needle and needle not in info.id.lower() and not any(needle in a.lower() for a in names):
            continue
        price = prices.lookup(info.id)
        entries.append(
            {
                "id": info.id,
                "aliases": names,
                "owned_by": info.owned_by,
                "price": None
                if price is None
                else {  # USD per 1M tokens, exact decimal strings
                    "input": decimal_string(price.input),
                    "output": decimal_string(price.output),
                    "cached_input": decimal_string(price.cached_input),
                    "source": price.source,
                },
                "context_window": info.context_window or (price.context_window if price else None),
            }
        )
    return entries


def run_models(
    offered: list[ModelInfo],
    profile: Profile,
    prices: PriceTable,
    streams: Streams,
    *,
    search: str | None,
    json_out: bool,
) -> int:
    entries = catalogue(offered, profile, prices, search)
    if json_out:
        streams.stdout.write(json.dumps({"profile": profile.name, "models": entries}, ensure_ascii=False) + "\n")
        return 0
    from relaycli.output.tables import table

    def price(entry: dict[str, Any], field: str) -> str:
        value = (entry["price"] or {}).get(field)
        return "-" if value is None else f"${value}"

    rows = [
        [
            e["id"],
            ", ".join(e["aliases"]),
            price(e, "input"),
            price(e, "cached_input"),
            price(e, "output"),
            f"{e['context_window']:,}" if e.get("context_window") else "-",
        ]
        for e in entries
    ]
    title = f"{len(rows)} model{'' if len(rows) == 1 else 's'} on {profile.name} ({profile.host})"
    table(
        streams.stdout,
        isatty=streams.stdout_isatty,
        title=title,
        columns=["model", "aliases", "input/1M", "cached/1M", "output/1M", "context"],
        rows=rows,
        right=["input/1M", "cached/1M", "output/1M", "context"],
        whole=["model", "aliases"],
        drop=["cached/1M", "context", "aliases", "input/1M", "output/1M"],
        note=streams.note,
    )
    if not rows and search:
        streams.note(f"no model matches {search!r}")
    return 0
