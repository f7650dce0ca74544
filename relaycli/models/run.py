"""The model catalogue of a profile: the endpoint's list merged with aliases and prices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from relaycli.config.profile import Profile

if TYPE_CHECKING:
    from relaycli.context import AppContext


def list_models(ctx: AppContext, profile: Profile, search: str | None = None) -> list[dict[str, Any]]:
    with ctx.client(profile, ctx.key(profile)) as client:
        offered = client.list_models()
    aliases: dict[str, list[str]] = {}
    for alias, target in profile.aliases.items():
        aliases.setdefault(target, []).append(alias)
    needle = (search or "").lower()
    entries = []
    for info in sorted(offered, key=lambda m: m.id):
        names = sorted(aliases.get(info.id, []))
        if needle and needle not in info.id.lower() and not any(needle in a.lower() for a in names):
            continue
        price = ctx.prices.lookup(info.id)
        entries.append({
            "id": info.id,
            "aliases": names,
            "owned_by": info.owned_by,
            "price": None if price is None else {
                "input": float(price.input),
                "output": float(price.output),
                "cached_input": None if price.cached_input is None else float(price.cached_input),
                "source": price.source,
            },
            "context_window": info.context_window or (price.context_window if price else None),
        })
    return entries
