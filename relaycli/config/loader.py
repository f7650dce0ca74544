"""The config file: TOML -> typed ``Settings``; profile selection; API key resolution.

Never prints, never exits: problems become ``ConfigError`` (exit 3) naming the file, line and column.

Without a config file there is nothing to parse or check: the TOML reader (``tomllib``), the checks
(``checks``) and the name helpers (``toml_names``) are imported only when a file is read, which keeps a
command on the built-in profiles (``relay stream -p mock``) from paying for them. The names this module
used to re-export from those two (``PROFILE_KEYS``, ``locate``, ``table_name``, ...) still resolve here.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relaycli.config.cache import CacheSettings
from relaycli.config.keys import resolve_key
from relaycli.config.profile import Profile
from relaycli.config.serve import ServeSettings
from relaycli.config.team import TeamSettings
from relaycli.errors import ConfigError, ProfileNotFound

if TYPE_CHECKING:
    import tomllib

__all__ = [
    "Settings",
    "builtin_profiles",
    "get_profile",
    "load",
    "parse",
    "resolve_key",
    "select_profile",
]

DEFAULT_MOCK_URL = "http://127.0.0.1:8765"

# re-exported, imported on first use: module -> names
_LAZY = {
    "relaycli.config.checks": ("PRICE_KEYS", "PROFILE_KEYS", "TOP_KEYS"),
    "relaycli.config.toml_names": ("key_path", "locate", "quote_key", "table_name"),
}


def __getattr__(name: str) -> Any:
    for module, names in _LAZY.items():
        if name in names:
            import importlib

            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration: the file's values over the defaults, profiles resolved."""

    path: Path
    exists: bool
    default_profile: str | None
    profiles: dict[str, Profile]
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    builtin: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()
    text: str = ""
    adjusted: frozenset[str] = frozenset()  # built-in profiles the file changes some settings of
    cache: CacheSettings = field(default_factory=CacheSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    team: TeamSettings = field(default_factory=TeamSettings)

    def line_of(self, section: str, key: str | None = None) -> int | None:
        from relaycli.config.toml_names import locate

        return locate(self.text, section, key)


def builtin_profiles(env: Mapping[str, str]) -> dict[str, Profile]:
    """``mock`` (OpenAI wire format) and ``mock-anthropic``: the built-in local relay, no key needed."""
    url = env.get("RELAY_MOCK_URL", DEFAULT_MOCK_URL).rstrip("/")
    if url.endswith("/v1"):
        url = url[:-3]
    return {
        "mock": Profile(
            name="mock",
            base_url=f"{url}/v1",
            protocol="openai",
            default_model="gpt-4.1-mini",
            needs_key=False,
            aliases={"fast": "gpt-4.1-mini", "smart": "gpt-4.1"},
        ),
        "mock-anthropic": Profile(
            name="mock-anthropic", base_url=url, protocol="anthropic", default_model="claude-haiku-4-5", needs_key=False
        ),
    }


def load(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    if not path.exists():
        builtins = builtin_profiles(env)
        return Settings(
            path=path, exists=False, default_profile=None, profiles=dict(builtins), builtin=frozenset(builtins)
        )
    if path.is_dir():
        raise ConfigError(
            f"cannot read config file {path}: it is a directory",
            hint="remove or rename it, or point RELAY_CONFIG at a file",
        )
    from relaycli.config.writing import check_config_file

    check_config_file(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"cannot read config file {path}: not UTF-8 text (byte {exc.start})", hint="save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    return parse(path, text, env)


def parse(path: Path, text: str, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``text``, the contents of ``path`` (named in errors): what ``load`` does after reading."""
    import tomllib

    env = os.environ if env is None else env
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: {_describe_toml_error(exc)}",
            hint="fix the file, or start afresh with `relay config init --force`",
        ) from exc
    except RecursionError:
        raise ConfigError(
            f"{path}: values nested too deeply to read",
            hint="fix the file, or start afresh with `relay config init --force`",
        ) from None
    try:
        return _build(path, text, data, builtin_profiles(env))
    except RecursionError:
        raise ConfigError(f"{path}: values nested too deeply to check") from None


def _describe_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        reason = msg[: m.start()].strip()
        return f"line {m.group(1)}, column {m.group(2)}: {reason}"
    m = re.search(r"\(at end of document\)", msg)
    if m:
        return f"at end of file: {msg[: m.start()].strip()}"
    return msg


def _build(path: Path, text: str, data: dict[str, Any], builtins: dict[str, Profile]) -> Settings:
    from relaycli.config.checks import TOP_KEYS, Checker
    from relaycli.config.toml_names import table_name

    check = Checker(path, text)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise check.fail("", unknown[0], f"unknown setting; known: {', '.join(sorted(TOP_KEYS))}")
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise check.fail("", "profiles", "expected tables [profiles.NAME]")
    profiles = dict(builtins)
    for name, table in raw_profiles.items():
        base = builtins.get(name)
        if base is not None and isinstance(table, dict):
            # [profiles.mock] may change a few settings (a budget, a timeout) of a built-in profile
            inherited = {"base_url": base.base_url, "protocol": base.protocol, "aliases": dict(base.aliases)}
            if base.default_model:
                inherited["default_model"] = base.default_model
            profile = check.profile(name, {**inherited, **table})
            if not set(table) & {"api_key_env", "api_key_cmd", "api_key"}:
                profile = dataclasses.replace(profile, needs_key=False)
            profiles[name] = profile
        else:
            profiles[name] = check.profile(name, table)
    for profile in profiles.values():
        for other in profile.fallback:
            if other not in profiles:
                raise check.fail(table_name("profiles", profile.name), "fallback", f"no profile named {other!r}")
    raw_prices = data.get("prices", {})
    if not isinstance(raw_prices, dict):
        raise check.fail("", "prices", 'expected tables [prices."MODEL"]')
    prices = {model: check.price(model, table) for model, table in raw_prices.items()}
    cache = check.cache(data["cache"]) if "cache" in data else CacheSettings()
    serve = check.serve(data["serve"], profiles) if "serve" in data else ServeSettings()
    team = check.team(data["team"]) if "team" in data else TeamSettings()
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise check.fail("", "default_profile", "expected a profile name")
    warnings = list(check.notes)
    if any(p.api_key for p in profiles.values()) and _readable_by_others(path):
        warnings.append(f"{path} holds an api_key and is readable by other users; fix: chmod 600 {path}")
    return Settings(
        path=path,
        exists=True,
        default_profile=default,
        profiles=profiles,
        prices=prices,
        builtin=frozenset(n for n in builtins if n not in raw_profiles),
        warnings=tuple(warnings),
        text=text,
        adjusted=frozenset(n for n in builtins if n in raw_profiles),
        cache=cache,
        serve=serve,
        team=team,
    )


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def select_profile(settings: Settings, flag: str | None, env: Mapping[str, str] | None = None) -> Profile:
    """Flag > RELAY_PROFILE > default_profile in the file."""
    env = os.environ if env is None else env
    name, source = flag, "-p/--profile"
    if not name and env.get("RELAY_PROFILE"):
        name, source = env["RELAY_PROFILE"], "RELAY_PROFILE"
    if not name and settings.default_profile:
        name, source = settings.default_profile, f"default_profile in {settings.path}"
    if not name:
        raise ConfigError(
            f"no profile chosen and {settings.path} sets no default_profile",
            hint="pass -p NAME, set RELAY_PROFILE, or run `relay config init`; try `-p mock` offline",
        )
    return get_profile(settings, name, source)


def get_profile(settings: Settings, name: str, source: str = "-p/--profile") -> Profile:
    try:
        return settings.profiles[name]
    except KeyError:
        known = ", ".join(sorted(settings.profiles))
        raise ProfileNotFound(
            f"unknown profile {name!r} (from {source}); known profiles: {known}",
            hint=f"profiles live in {settings.path}",
        ) from None
