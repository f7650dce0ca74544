"""What ``relay config show`` and ``profiles`` display: values, their sources, keys masked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from relaycli.config.loader import Settings, resolve_key
from relaycli.config.profile import Breaker, Limits, Profile
from relaycli.config.toml_names import table_name
from relaycli.errors import ConfigError

DEFAULTS = Profile(name="", base_url="")
_SECRET_HEADER = re.compile(r"key|token|secret|auth|cookie|password", re.IGNORECASE)
_BUILT_IN_FIELDS = {"base_url", "protocol", "default_model", "aliases"}


def mask(secret: str | None) -> str:
    if not secret:
        return "-"
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with the values of those that may carry a credential masked (api-key, Authorization, ...)."""
    return {name: mask(value) if _SECRET_HEADER.search(name) else value for name, value in headers.items()}


def shown_edit(dotted: str, line: str) -> str:
    """What ``config set`` says it wrote: the line, unless it may hold a credential (an ``api_key``, a whole
    ``headers`` table, or a header whose name says key, token, secret or auth), which is named, not shown."""
    from relaycli.config.toml_names import key_path

    parts = key_path(dotted) or (dotted,)
    in_headers = "headers" in parts
    header_secret = in_headers and (parts[-1] == "headers" or bool(_SECRET_HEADER.search(parts[-1])))
    if parts[-1] == "api_key" or header_secret:
        return f"set {dotted} (the value is not shown: it may be a credential; `relay config show` masks it)"
    return line


def key_status(profile: Profile, env: Mapping[str, str], *, run_commands: bool = True) -> str:
    if not profile.needs_key:
        return "none needed"
    if not run_commands and profile.api_key_cmd and not (profile.api_key_env and env.get(profile.api_key_env)):
        return "api_key_cmd (not run here)"  # it may prompt or be slow: `config show -p NAME` runs it
    try:
        key = resolve_key(profile, env)
    except ConfigError:
        return "missing"
    if key.value is None:
        return key.source
    stripped = "; surrounding whitespace removed" if key.note else ""
    return f"{mask(key.value)} ({key.source}{stripped})"


def profile_rows(settings: Settings, env: Mapping[str, str]) -> list[dict[str, Any]]:
    default = env.get("RELAY_PROFILE") or settings.default_profile
    return [
        {
            "name": p.name,
            "protocol": p.protocol,
            "base_url": p.base_url,
            "default_model": p.default_model,
            "default": p.name == default,
            "builtin": p.name in settings.builtin,
            "key": key_status(p, env, run_commands=False),
        }
        for p in sorted(settings.profiles.values(), key=lambda p: p.name)
    ]


def _text(value: Any) -> str:
    if isinstance(value, Limits):
        return limits_setting(value)
    if isinstance(value, Breaker):
        return breaker_setting(value)
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_text(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return "-" if value is None else str(value)


def limits_setting(limits: Limits) -> str:
    """``{ rpm = 60, max_in_flight = 4 }`` (only what is set), or ``none``."""
    named = {"rpm": limits.rpm, "tpm": limits.tpm, "max_in_flight": limits.max_in_flight, "burst": limits.burst}
    shown = [f"{name} = {value:g}" for name, value in named.items() if value is not None]
    return "{ " + ", ".join(shown) + " }" if shown else "none"


def breaker_setting(breaker: Breaker) -> str:
    """``{ failures = 5, cooldown = 30 }`` (the share's settings when a ratio is set), or ``false``."""
    if not breaker.enabled:
        return "false"
    shown = [f"failures = {breaker.failures}", f"cooldown = {breaker.cooldown:g}"]
    if breaker.ratio is not None:
        shown += [
            f"ratio = {breaker.ratio:g}",
            f"min_requests = {breaker.min_requests}",
            f"window = {breaker.window:g}",
        ]
    return "{ " + ", ".join(shown) + " }"


def _line(settings: Settings, section: str, key: str) -> int | None:
    """Where the file sets ``key`` of ``section``: its line, or the header of its own table."""
    return settings.line_of(section, key) or settings.line_of(f"{section}.{key}")


def _source(settings: Settings, profile: Profile, field: str, env: Mapping[str, str]) -> str:
    line = None if profile.name in settings.builtin else _line(settings, table_name("profiles", profile.name), field)
    if line:
        return f"file line {line}"
    if profile.name in settings.builtin or profile.name in settings.adjusted:
        if field == "base_url" and env.get("RELAY_MOCK_URL"):
            return "built-in (RELAY_MOCK_URL)"
        if field in _BUILT_IN_FIELDS or field == "needs_key":
            return "built-in"
    if getattr(profile, field) == getattr(DEFAULTS, field):
        return "default"
    return "file"


def settings_rows(
    settings: Settings,
    env: Mapping[str, str],
    only: str | None = None,
    learned: Mapping[str, list[tuple[str, str, str]]] | None = None,
    live: Mapping[str, list[tuple[str, str]]] | None = None,
) -> list[dict[str, str]]:
    """Every setting with its value and source; ``learned`` adds quirks per profile: (name, value, date);
    ``live`` adds what is true now per profile: (name, value), such as what is left of its limits."""
    rows: list[dict[str, str]] = []
    if only is None:
        if env.get("RELAY_PROFILE"):
            rows.append({"key": "default_profile", "value": env["RELAY_PROFILE"], "source": "env RELAY_PROFILE"})
        else:
            line = settings.line_of("", "default_profile")
            rows.append(
                {
                    "key": "default_profile",
                    "value": settings.default_profile or "-",
                    "source": f"file line {line}" if line else "default (none)",
                }
            )
    for profile in sorted(settings.profiles.values(), key=lambda p: p.name):
        if only is not None and profile.name != only:
            continue
        section = table_name("profiles", profile.name)
        for field in dataclasses.fields(Profile):
            if field.name in ("name", "needs_key"):
                continue
            value = getattr(profile, field.name)
            if field.name == "api_key":
                shown = mask(value)
            elif field.name == "headers":
                shown = _text(mask_headers(value))
            else:
                shown = _text(value)
            rows.append(
                {
                    "key": f"{section}.{field.name}",
                    "value": shown,
                    "source": _source(settings, profile, field.name, env),
                }
            )
        rows.append({"key": f"{section}.key", "value": key_status(profile, env), "source": "resolved now"})
        for name, value in (live or {}).get(profile.name, []):
            rows.append({"key": f"{section}.{name}", "value": value, "source": "limits.db now"})
        for name, value, when in (learned or {}).get(profile.name, []):
            rows.append({"key": f"{section}.learned.{name}", "value": value, "source": f"learned {when}"})
    if only is None:
        rows.extend(_cache_rows(settings))
    for model, price in sorted(settings.prices.items()):
        section = table_name("prices", model)
        for name, value in price.items():
            rows.append(
                {
                    "key": f"{section}.{name}",
                    "value": str(value),
                    "source": f"file line {settings.line_of(section, name) or '?'}",
                }
            )
    return rows


def _cache_rows(settings: Settings) -> list[dict[str, str]]:
    from relaycli.config.cache import format_duration, format_size

    shown = {
        "enabled": _text(settings.cache.enabled),
        "ttl": format_duration(settings.cache.ttl_s),
        "max_size": format_size(settings.cache.max_size),
    }
    rows = []
    for name, value in shown.items():
        line = settings.line_of("cache", name)
        rows.append({"key": f"cache.{name}", "value": value, "source": f"file line {line}" if line else "default"})
    return rows
