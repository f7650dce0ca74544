"""``relay models --names``: model names one per line, for scripts and shell completion.

Offline, no request is made: the names are the aliases (of the profile asked for, else of every
profile), the config's ``[prices]`` models and the built-in price table's models, in that order, each
once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from relaycli.config.profile import Profile

if TYPE_CHECKING:
    from relaycli.datatypes import ModelInfo
    from relaycli.output.streams import Streams
    from relaycli.usage.prices import PriceTable


def offline_names(profiles: Iterable[Profile], overrides: Mapping[str, object], prices: PriceTable) -> list[str]:
    aliases = sorted({alias for profile in profiles for alias in profile.aliases})
    return _unique([*aliases, *sorted(overrides), *prices.models()])


def offered_names(offered: list[ModelInfo], profile: Profile) -> list[str]:
    """The endpoint's ids and the aliases that point at them."""
    ids = sorted(info.id for info in offered)
    present = set(ids)
    return _unique([*sorted(a for a, target in profile.aliases.items() if target in present), *ids])


def write_names(names: Iterable[str], streams: Streams, *, search: str | None = None) -> int:
    needle = (search or "").lower()
    streams.stdout.write("".join(f"{name}\n" for name in names if needle in name.lower()))
    return 0


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
