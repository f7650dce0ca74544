"""Checking one config file's tables and turning them into typed objects, naming the file and line of
every problem (``ConfigError``, exit 3). Standard library only."""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from relaycli.config.cache import CacheSettings, parse_duration, parse_size
from relaycli.config.keys import INVISIBLE
from relaycli.config.profile import PROTOCOLS, Billing, Breaker, Limits, Profile, Timeouts
from relaycli.config.serve import ServeSettings
from relaycli.config.team import TeamSettings
from relaycli.config.toml_names import locate, table_name
from relaycli.errors import ConfigError

PROFILE_KEYS = {
    "base_url",
    "protocol",
    "api_key_env",
    "api_key_cmd",
    "api_key",
    "default_model",
    "aliases",
    "headers",
    "timeout",
    "retries",
    "billing",
    "compare_to",
    "fallback",
    "budget",
    "budget_action",
    "cache",
    "limits",
    "breaker",
}
LIMIT_KEYS = {"rpm", "tpm", "max_in_flight", "burst"}
BREAKER_KEYS = {"failures", "cooldown", "ratio", "min_requests", "window"}
TOP_KEYS = {"default_profile", "profiles", "prices", "cache", "serve", "team"}
CACHE_KEYS = {"enabled", "ttl", "max_size"}
PRICE_KEYS = {"input", "output", "cached_input", "cache_write", "cache_write_1h", "context_window"}
MAX_PRICE = 10_000_000  # USD per 1M tokens: far above any real model, below what overflows a cost
MAX_SECONDS = 7 * 24 * 3600
MAX_BUDGET = 10**12
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters, tab allowed


class Checker:
    """Validates the tables of one file; ``notes`` collects what was quietly corrected (for warnings)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text
        self.notes: list[str] = []

    def fail(self, section: str, key: str | None, message: str) -> ConfigError:
        line = locate(self.text, section, key) or locate(self.text, section)
        where = f"{self.path}, line {line}, column 1" if line else str(self.path)
        name = f"[{section}] {key}" if key else f"[{section}]"
        return ConfigError(f"{where}: {name}: {message}")

    def string(self, section: str, table: Mapping[str, Any], key: str) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(section, key, f"expected a string, got {type(value).__name__}")
        return value

    def number(self, section: str, key: str, value: Any, *, minimum: float = 0, maximum: float = math.inf) -> float:
        ok = not isinstance(value, bool) and isinstance(value, int | float)
        if not ok or not math.isfinite(value) or not minimum <= value <= maximum:
            bound = f" and <= {maximum:,.0f}" if math.isfinite(maximum) else ""
            raise self.fail(section, key, f"expected a number >= {minimum:g}{bound}, got {value!r}")
        return float(value)

    def str_table(self, section: str, table: Mapping[str, Any], key: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(section, key, "expected a table of strings")
        return dict(value)

    def headers(self, section: str, table: Mapping[str, Any]) -> dict[str, str]:
        headers = self.str_table(section, table, "headers")
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name):
                raise self.fail(
                    section,
                    "headers",
                    f"{name!r} is not a valid HTTP header name (letters, digits and -, no spaces or colons)",
                )
            if _CONTROL.search(value):
                raise self.fail(
                    section, "headers", f"the value of {name!r} contains a line break or control character; remove it"
                )
            if not value.isascii():
                raise self.fail(
                    section,
                    "headers",
                    f"the value of {name!r} has characters outside ASCII, which HTTP headers cannot carry",
                )
        return headers

    def billing(self, section: str, table: Mapping[str, Any], key: str) -> Billing | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - {"currency", "per_usd"}:
            raise self.fail(section, key, 'expected { currency = "CNY", per_usd = 7.3 }')
        currency = value.get("currency", "USD")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise self.fail(section, key, f"currency must be a 3-letter code such as CNY, got {currency!r}")
        raw = value.get("per_usd", 1)
        try:
            per_usd = Decimal(str(raw))
        except InvalidOperation:
            per_usd = Decimal(-1)
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or not per_usd.is_finite()
            or not 0 < per_usd <= 10**9
        ):
            raise self.fail(section, key, f"per_usd must be a positive number, got {raw!r}")
        return Billing(currency=currency.upper(), per_usd=per_usd)

    def timeouts(self, section: str, table: Mapping[str, Any]) -> Timeouts:
        value = table.get("timeout", {})
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = {"read": value}
        if not isinstance(value, dict) or set(value) - {"connect", "read", "total"}:
            raise self.fail(section, "timeout", "expected { connect = 5, read = 60, total = 600 } (seconds)")
        base = Timeouts()

        def seconds(name: str, default: float) -> float:
            return self.number(section, "timeout", value.get(name, default), minimum=0.001, maximum=MAX_SECONDS)

        return Timeouts(
            connect=seconds("connect", base.connect),
            read=seconds("read", base.read),
            total=seconds("total", base.total),
        )

    def key(self, section: str, table: Mapping[str, Any]) -> str | None:
        key = self.string(section, table, "api_key")
        if key is None:
            return None
        stripped = key.strip(INVISIBLE)
        if stripped != key:
            self.notes.append(f"[{section}] api_key: surrounding whitespace or a line break removed ({self.path})")
        if _CONTROL.search(stripped) or not stripped.isascii():
            raise self.fail(
                section,
                "api_key",
                "contains a line break, control or non-ASCII character (a smart quote?); paste it again",
            )
        return stripped or None

    def profile(self, name: str, table: Any) -> Profile:
        section = table_name("profiles", name)
        if not isinstance(table, dict):
            raise self.fail(section, None, "expected a table")
        unknown = sorted(set(table) - PROFILE_KEYS)
        if unknown:
            raise self.fail(section, unknown[0], f"unknown setting; known: {', '.join(sorted(PROFILE_KEYS))}")
        base_url = self.string(section, table, "base_url")
        if not base_url:
            raise self.fail(
                section,
                "base_url" if "base_url" in table else None,
                'has no base_url: every profile needs one (base_url = "https://...")',
            )
        if not re.match(r"^https?://[^/\s]+", base_url) or _CONTROL.search(base_url):
            raise self.fail(section, "base_url", "needs an http:// or https:// URL")
        problem = _url_problem(base_url.strip())
        if problem:
            raise self.fail(section, "base_url", f"{problem} in {base_url!r}")
        protocol = table.get("protocol", "openai")
        if protocol not in PROTOCOLS:
            raise self.fail(section, "protocol", f"must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        retries = table.get("retries", 2)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise self.fail(section, "retries", f"expected a whole number from 0 to 10, got {retries!r}")
        budget = table.get("budget")
        if budget is not None:
            budget = Decimal(str(self.number(section, "budget", budget, minimum=0, maximum=MAX_BUDGET)))
        action = table.get("budget_action", "warn")
        if action not in ("warn", "block"):
            raise self.fail(section, "budget_action", f'must be "warn" or "block", got {action!r}')
        cache = table.get("cache", True)
        if not isinstance(cache, bool):
            raise self.fail(section, "cache", f"expected true or false, got {cache!r}")
        fallback = table.get("fallback", [])
        if not isinstance(fallback, list) or not all(isinstance(f, str) for f in fallback):
            raise self.fail(section, "fallback", 'expected a list of profile names, e.g. ["direct"]')
        return Profile(
            name=name,
            base_url=base_url.strip().rstrip("/"),
            protocol=protocol,
            api_key_env=self.string(section, table, "api_key_env"),
            api_key_cmd=self.string(section, table, "api_key_cmd"),
            api_key=self.key(section, table),
            default_model=self.string(section, table, "default_model"),
            aliases=self.str_table(section, table, "aliases"),
            headers=self.headers(section, table),
            timeout=self.timeouts(section, table),
            retries=retries,
            billing=self.billing(section, table, "billing") or Billing(),
            compare_to=self.billing(section, table, "compare_to"),
            fallback=tuple(fallback),
            budget=budget,
            budget_action=action,
            cache=cache,
            limits=self.limits(section, table),
            breaker=self.breaker(section, table),
        )

    def limits(self, section: str, table: Mapping[str, Any]) -> Limits:
        value = table.get("limits", {})
        shape = "expected { rpm = 60, tpm = 100000, max_in_flight = 4 } (burst optional)"
        if not isinstance(value, dict):
            raise self.fail(section, "limits", shape)
        unknown = sorted(set(value) - LIMIT_KEYS)
        if unknown:
            raise self.fail(section, "limits", f"unknown limit {unknown[0]!r}; {shape}")

        def rate(name: str) -> float | None:
            if name not in value:
                return None
            return self.number(section, "limits", value[name], minimum=0.001, maximum=1e9)

        in_flight = value.get("max_in_flight")
        if in_flight is not None and (isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1):
            raise self.fail(section, "limits", f"max_in_flight: expected a whole number >= 1, got {in_flight!r}")
        limits = Limits(rpm=rate("rpm"), tpm=rate("tpm"), max_in_flight=in_flight, burst=rate("burst"))
        if limits.burst is not None and limits.rpm is None:
            raise self.fail(section, "limits", "burst is the size of the rpm bucket: set rpm too")
        if limits.burst is not None and limits.burst < 1:
            raise self.fail(section, "limits", f"burst: expected at least 1 request, got {limits.burst:g}")
        return limits

    def breaker(self, section: str, table: Mapping[str, Any]) -> Breaker:
        value = table.get("breaker", {})
        shape = "expected { failures = 5, cooldown = 30 } (ratio, min_requests, window optional), or false"
        if value is False:
            return Breaker(enabled=False)
        if not isinstance(value, dict):
            raise self.fail(section, "breaker", shape)
        unknown = sorted(set(value) - BREAKER_KEYS)
        if unknown:
            raise self.fail(section, "breaker", f"unknown setting {unknown[0]!r}; {shape}")
        base = Breaker()

        def whole(name: str, default: int, minimum: int) -> int:
            got = value.get(name, default)
            if isinstance(got, bool) or not isinstance(got, int) or not minimum <= got <= 10**6:
                raise self.fail(section, "breaker", f"{name}: expected a whole number >= {minimum}, got {got!r}")
            return got

        ratio = value.get("ratio")
        if ratio is not None:
            ratio = self.number(section, "breaker", ratio, minimum=0.01, maximum=1)
        return Breaker(
            failures=whole("failures", base.failures, 0),
            cooldown=self.number(
                section, "breaker", value.get("cooldown", base.cooldown), minimum=0.1, maximum=MAX_SECONDS
            ),
            ratio=ratio,
            min_requests=whole("min_requests", base.min_requests, 1),
            window=self.number(section, "breaker", value.get("window", base.window), minimum=1, maximum=MAX_SECONDS),
        )

    def cache(self, table: Any) -> CacheSettings:
        """The ``[cache]`` table: ``enabled``, ``ttl`` (seconds or "12h", "7d"), ``max_size`` (bytes or "500MB")."""
        if not isinstance(table, dict):
            raise self.fail("cache", None, 'expected a table: [cache] with enabled, ttl = "7d", max_size = "500MB"')
        unknown = sorted(set(table) - CACHE_KEYS)
        if unknown:
            raise self.fail("cache", unknown[0], f"unknown setting; known: {', '.join(sorted(CACHE_KEYS))}")
        default = CacheSettings()
        enabled = table.get("enabled", default.enabled)
        if not isinstance(enabled, bool):
            raise self.fail("cache", "enabled", f"expected true or false, got {enabled!r}")
        try:
            ttl = parse_duration(table["ttl"]) if "ttl" in table else default.ttl_s
        except ValueError as exc:
            raise self.fail("cache", "ttl", str(exc)) from None
        try:
            size = parse_size(table["max_size"]) if "max_size" in table else default.max_size
        except ValueError as exc:
            raise self.fail("cache", "max_size", str(exc)) from None
        return CacheSettings(enabled=enabled, ttl_s=ttl, max_size=size)

    def serve(self, table: Any, profiles: Mapping[str, Profile]) -> ServeSettings:
        """The ``[serve]`` table (``config/tables.py``, loaded only for a config that has one)."""
        from relaycli.config.tables import serve_settings

        return serve_settings(self, table, profiles)

    def team(self, table: Any) -> TeamSettings:
        """The ``[team]`` table (``config/tables.py``, loaded only for a config that has one)."""
        from relaycli.config.tables import team_settings

        return team_settings(self, table)

    def price(self, model: str, table: Any) -> dict[str, Any]:
        section = table_name("prices", model)
        if not isinstance(table, dict):
            raise self.fail(section, None, "expected a table: input = 2.5, output = 8 (USD per 1M tokens)")
        unknown = sorted(set(table) - PRICE_KEYS)
        if unknown:
            raise self.fail(section, unknown[0], f"unknown price; known: {', '.join(sorted(PRICE_KEYS))}")
        for key, value in table.items():
            if key == "context_window":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**9:
                    raise self.fail(section, key, f"expected a positive whole number of tokens, got {value!r}")
            else:
                self.number(section, key, value, minimum=0, maximum=MAX_PRICE)
        missing = [key for key in ("input", "output") if key not in table]
        if missing:
            raise self.fail(
                section,
                missing[0],
                "missing: a price table needs both input and output (USD per 1M tokens), or remove the table",
            )
        return dict(table)


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested (a bad port, an unclosed IPv6 bracket, a space), or None."""
    if any(ch.isspace() for ch in url) or not url.isascii():
        return "a space or non-ASCII character (percent-encode it)"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if not parts.hostname:
        return "no host name"
    return None
