"""The config file: TOML -> typed ``Settings``; profile selection; API key resolution.

Never prints, never exits: problems become ``ConfigError`` (exit 3) naming the file, line and column.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from relaycli.config.profile import PROTOCOLS, Billing, Profile, ResolvedKey, Timeouts
from relaycli.errors import ConfigError, MissingKey, ProfileNotFound

DEFAULT_MOCK_URL = "http://127.0.0.1:8765"

PROFILE_KEYS = {
    "base_url", "protocol", "api_key_env", "api_key_cmd", "api_key", "default_model", "aliases",
    "headers", "timeout", "retries", "billing", "compare_to", "fallback", "budget", "budget_action",
}
TOP_KEYS = {"default_profile", "profiles", "prices"}
PRICE_KEYS = {"input", "output", "cached_input", "cache_write", "context_window"}


@dataclass(frozen=True, slots=True)
class Settings:
    path: Path
    exists: bool
    default_profile: str | None
    profiles: dict[str, Profile]
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    builtin: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = ()
    text: str = ""

    def line_of(self, section: str, key: str | None = None) -> int | None:
        return locate(self.text, section, key)


def builtin_profiles(env: Mapping[str, str]) -> dict[str, Profile]:
    """``mock`` (OpenAI wire format) and ``mock-anthropic``: the built-in local relay, no key needed."""
    url = env.get("RELAY_MOCK_URL", DEFAULT_MOCK_URL).rstrip("/")
    if url.endswith("/v1"):
        url = url[:-3]
    return {
        "mock": Profile(name="mock", base_url=f"{url}/v1", protocol="openai", default_model="gpt-4.1-mini",
                        needs_key=False, aliases={"fast": "gpt-4.1-mini", "smart": "gpt-4.1"}),
        "mock-anthropic": Profile(name="mock-anthropic", base_url=url, protocol="anthropic",
                                  default_model="claude-haiku-4-5", needs_key=False),
    }


def load(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    if not path.exists():
        builtins = builtin_profiles(env)
        return Settings(path=path, exists=False, default_profile=None, profiles=dict(builtins),
                        builtin=frozenset(builtins))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    return parse(path, text, env)


def parse(path: Path, text: str, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``text``, the contents of ``path`` (named in errors): what ``load`` does after reading."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {_describe_toml_error(exc)}",
                          hint="fix the file, or start afresh with `relay config init --force`") from exc
    return _build(path, text, data, builtin_profiles(env))


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


def quote_key(name: str) -> str:
    """A TOML key: bare when it can be, else quoted (``my.relay`` -> ``"my.relay"``)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def table_name(*parts: str) -> str:
    """The dotted TOML name of a table: ``table_name("profiles", "my.relay")`` -> ``profiles."my.relay"``."""
    return ".".join(quote_key(part) for part in parts)


def key_path(dotted: str) -> tuple[str, ...]:
    """The parts of a dotted TOML key (quotes honoured); ``()`` for ``""`` or something unparsable."""
    if not dotted.strip():
        return ()
    try:
        node: Any = tomllib.loads(f"{dotted} = 0")
    except tomllib.TOMLDecodeError:
        return ()
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        (name, node), = node.items()
        parts.append(name)
    return tuple(parts)


_HEADER = re.compile(r"^\s*\[(?!\[)(.*)\]\s*(#.*)?$")
_KEY_LINE = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def locate(text: str, section: str, key: str | None = None) -> int | None:
    """The 1-based line of ``key`` inside the table ``section`` (a dotted TOML name, "" for the top),
    or of the table's header when ``key`` is None. Best effort, for messages and edits."""
    wanted = key_path(section)
    in_section = not wanted
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            in_section = bool(wanted) and key_path(header.group(1)) == wanted
            if in_section and key is None:
                return number
            continue
        if in_section and key is not None:
            match = _KEY_LINE.match(line)
            if match and key_path(match.group(1)) == (key,):
                return number
    return None


class _Checker:
    """Validates one table of the file, naming the file and line of every problem."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

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

    def number(self, section: str, key: str, value: Any, *, minimum: float = 0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.fail(section, key, f"expected a number >= {minimum:g}, got {value!r}")
        return float(value)

    def str_table(self, section: str, table: Mapping[str, Any], key: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(section, key, "expected a table of strings")
        return dict(value)

    def billing(self, section: str, table: Mapping[str, Any], key: str) -> Billing | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) - {"currency", "per_usd"}:
            raise self.fail(section, key, 'expected { currency = "CNY", per_usd = 7.3 }')
        currency = value.get("currency", "USD")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
            raise self.fail(section, key, f"currency must be a 3-letter code such as CNY, got {currency!r}")
        try:
            per_usd = Decimal(str(value.get("per_usd", 1)))
        except InvalidOperation:
            per_usd = Decimal(-1)
        if isinstance(value.get("per_usd"), bool) or not per_usd.is_finite() or per_usd <= 0:
            raise self.fail(section, key, f"per_usd must be a positive number, got {value.get('per_usd')!r}")
        return Billing(currency=currency.upper(), per_usd=per_usd)

    def timeouts(self, section: str, table: Mapping[str, Any]) -> Timeouts:
        value = table.get("timeout", {})
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = {"read": value}
        if not isinstance(value, dict) or set(value) - {"connect", "read", "total"}:
            raise self.fail(section, "timeout", "expected { connect = 5, read = 60, total = 600 } (seconds)")
        base = Timeouts()
        return Timeouts(
            connect=self.number(section, "timeout", value.get("connect", base.connect), minimum=0.001),
            read=self.number(section, "timeout", value.get("read", base.read), minimum=0.001),
            total=self.number(section, "timeout", value.get("total", base.total), minimum=0.001),
        )

    def profile(self, name: str, table: Any) -> Profile:
        section = table_name("profiles", name)
        if not isinstance(table, dict):
            raise self.fail(section, None, "expected a table")
        unknown = sorted(set(table) - PROFILE_KEYS)
        if unknown:
            raise self.fail(section, unknown[0], f"unknown setting; known: {', '.join(sorted(PROFILE_KEYS))}")
        base_url = self.string(section, table, "base_url")
        if not base_url or not re.match(r"^https?://[^/\s]+", base_url):
            raise self.fail(section, "base_url", "needs an http:// or https:// URL")
        protocol = table.get("protocol", "openai")
        if protocol not in PROTOCOLS:
            raise self.fail(section, "protocol", f"must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        retries = table.get("retries", 2)
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise self.fail(section, "retries", f"expected a whole number from 0 to 10, got {retries!r}")
        budget = table.get("budget")
        if budget is not None:
            budget = Decimal(str(self.number(section, "budget", budget, minimum=0)))
        action = table.get("budget_action", "warn")
        if action not in ("warn", "block"):
            raise self.fail(section, "budget_action", f'must be "warn" or "block", got {action!r}')
        fallback = table.get("fallback", [])
        if not isinstance(fallback, list) or not all(isinstance(f, str) for f in fallback):
            raise self.fail(section, "fallback", 'expected a list of profile names, e.g. ["direct"]')
        return Profile(
            name=name,
            base_url=base_url.rstrip("/"),
            protocol=protocol,
            api_key_env=self.string(section, table, "api_key_env"),
            api_key_cmd=self.string(section, table, "api_key_cmd"),
            api_key=self.string(section, table, "api_key"),
            default_model=self.string(section, table, "default_model"),
            aliases=self.str_table(section, table, "aliases"),
            headers=self.str_table(section, table, "headers"),
            timeout=self.timeouts(section, table),
            retries=retries,
            billing=self.billing(section, table, "billing") or Billing(),
            compare_to=self.billing(section, table, "compare_to"),
            fallback=tuple(fallback),
            budget=budget,
            budget_action=action,
        )


def _build(path: Path, text: str, data: dict[str, Any], builtins: dict[str, Profile]) -> Settings:
    check = _Checker(path, text)
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
    prices = data.get("prices", {})
    if not isinstance(prices, dict):
        raise check.fail("", "prices", 'expected tables [prices."MODEL"]')
    for model, table in prices.items():
        section = table_name("prices", model)
        if not isinstance(table, dict) or set(table) - PRICE_KEYS:
            raise check.fail(section, None, f"expected keys among {', '.join(sorted(PRICE_KEYS))}")
        for key, value in table.items():
            check.number(section, key, value)
    default = data.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise check.fail("", "default_profile", "expected a profile name")
    warnings = []
    if any(p.api_key for p in profiles.values()) and _readable_by_others(path):
        warnings.append(f"{path} holds an api_key and is readable by other users; fix: chmod 600 {path}")
    return Settings(path=path, exists=True, default_profile=default, profiles=profiles,
                    prices={k: dict(v) for k, v in prices.items()},
                    builtin=frozenset(n for n in builtins if n not in raw_profiles),
                    warnings=tuple(warnings), text=text)


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
        raise ProfileNotFound(f"unknown profile {name!r} (from {source}); known profiles: {known}",
                              hint=f"profiles live in {settings.path}") from None


def resolve_key(profile: Profile, env: Mapping[str, str] | None = None) -> ResolvedKey:
    """The profile's API key: api_key_env, then api_key_cmd, then a literal api_key."""
    env = os.environ if env is None else env
    if not profile.needs_key:
        return ResolvedKey(None, "none needed")
    tried = []
    if profile.api_key_env:
        value = env.get(profile.api_key_env, "").strip()
        if value:
            return ResolvedKey(value, f"env {profile.api_key_env}")
        tried.append(f"environment variable {profile.api_key_env} is not set")
    if profile.api_key_cmd:
        output, problem = _run_key_command(profile.api_key_cmd)
        if output:
            return ResolvedKey(output, f"api_key_cmd `{profile.api_key_cmd}`")
        tried.append(f"api_key_cmd `{profile.api_key_cmd}` {problem}")
    if profile.api_key:
        return ResolvedKey(profile.api_key, "api_key in the config file")
    if not tried:  # a local server (vLLM, llama.cpp, Ollama) that needs no key
        return ResolvedKey(None, "no key configured")
    if profile.api_key_cmd:
        hint = f"run `{profile.api_key_cmd}` yourself to see why it fails, or set api_key_env"
    else:
        hint = f"export {profile.api_key_env}=..., or add api_key_cmd to [profiles.{profile.name}]"
    raise MissingKey(f"no API key for profile {profile.name!r}: {'; '.join(tried)}", hint=hint)


def _run_key_command(command: str) -> tuple[str | None, str]:
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not run ({type(exc).__name__})"
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()[-1][:200] if done.stderr.strip() else ""
        return None, f"exited with status {done.returncode}" + (f" ({said})" if said else "")
    value = done.stdout.strip().splitlines()[0].strip() if done.stdout.strip() else ""
    return (value, "") if value else (None, "printed nothing")
