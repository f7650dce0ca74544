"""The team database's DSN: where it comes from (``[team] dsn_env``, ``dsn_cmd``, else ``RELAY_TEAM_DSN``),
how it is checked, and how it is kept out of every message.

A DSN can hold a password, so it is never printed or written anywhere: errors name its source and a
``postgresql://user@host:port/db`` form without the password (``display``), and ``Secret.scrub`` removes the
DSN and its password from any text (the error boundary also does, for tracebacks: ``core.scrub.remember``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from relaycli.config.team import TeamSettings
from relaycli.errors import ConfigError

__all__ = ["Dsn", "resolve_dsn", "scrub_dsn"]

_SCHEMES = ("postgresql", "postgres")
# the password part of any URL-form DSN, whatever it is: scheme://user:PASSWORD@
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
MASK = "***"


@dataclass(frozen=True, slots=True)
class Dsn:
    value: str  # the DSN as given: never print it
    source: str  # "env RELAY_TEAM_DSN", "dsn_cmd `...`"
    password: str | None

    @property
    def display(self) -> str:
        """``postgresql://user@host:port/db``: the address without the password."""
        parts = urlsplit(self.value)
        user = f"{unquote(parts.username)}@" if parts.username else ""
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"

    @property
    def fingerprint(self) -> str:
        """A short stable name for this database (host, port, database, user; never the password)."""
        import hashlib

        return hashlib.sha256(self.display.encode()).hexdigest()[:16]

    def scrub(self, text: str) -> str:
        return scrub_dsn(text, self)


def scrub_dsn(text: str, dsn: Dsn | None = None) -> str:
    """``text`` without the DSN (shown as its ``display`` form), its password, or any URL password."""
    if dsn is not None:
        from relaycli.core.scrub import scrub

        text = text.replace(dsn.value, dsn.display) if dsn.value else text
        text = scrub(text, dsn.value)
        if dsn.password:
            text = scrub(text, dsn.password)
            text = text.replace(f":{dsn.password}@", f":{MASK}@")
    text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
    return _KV_PASSWORD.sub(rf"\g<1>{MASK}", text)


def resolve_dsn(settings: TeamSettings, env: Mapping[str, str] | None = None) -> Dsn:
    """The DSN from ``dsn_env`` (when set in [team]; else ``RELAY_TEAM_DSN`` when there is no ``dsn_cmd``),
    then ``dsn_cmd``; ``ConfigError`` (exit 3) when none gives one or it is not a postgresql:// URL."""
    env = os.environ if env is None else env
    tried: list[str] = []
    if settings.dsn_env_set or not settings.dsn_cmd:
        raw = env.get(settings.dsn_env, "").strip()
        if raw:
            return _checked(raw, f"env {settings.dsn_env}")
        tried.append(f"environment variable {settings.dsn_env} is not set")
    if settings.dsn_cmd:
        from relaycli.config.keys import _run_key_command

        output, problem = _run_key_command(settings.dsn_cmd)
        if output is not None and output.strip():
            return _checked(output.strip(), f"dsn_cmd `{settings.dsn_cmd}`")
        tried.append(f"dsn_cmd `{settings.dsn_cmd}` {problem}")
    raise ConfigError(
        f"no team database: {'; '.join(tried)}",
        hint=f"export {settings.dsn_env}=postgresql://USER:PASSWORD@HOST:5432/DB, or set dsn_cmd in [team]",
    )


def _checked(value: str, source: str) -> Dsn:
    from relaycli.core.scrub import remember

    remember(value)  # the error boundary removes it (and below, the password) from whatever it prints
    try:
        parts = urlsplit(value)
        password = unquote(parts.password) if parts.password else None
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ConfigError(
            f"the team DSN from {source} is not a valid postgresql:// URL", hint="postgresql://USER@HOST:5432/DB"
        ) from None
    if password:
        remember(password)
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname and not parts.path:
        raise ConfigError(
            f"the team DSN from {source} must be a postgresql:// URL",
            hint="postgresql://USER:PASSWORD@HOST:5432/DB (the password may also come from ~/.pgpass or PGPASSWORD)",
        )
    return Dsn(value, source, password)
