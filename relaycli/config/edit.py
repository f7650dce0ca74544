"""Writing the config file: the commented starter of ``relay config init`` and ``relay config set``.

``set`` edits the one line it changes, so the user's comments and layout survive, checks the result
with the same loader every command uses, and replaces the file atomically.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from relaycli.config.loader import key_path, locate, parse, quote_key, table_name
from relaycli.errors import ConfigError

STARTER = """\
# relay configuration. Reference: `relay config --help`; check it with `relay config show`.
# Precedence for every setting: command-line flag > environment variable > this file > default.

default_profile = "relay"

# An OpenAI-compatible relay (OpenRouter, a LiteLLM proxy, vLLM, a HolySheep-style gateway, ...).
[profiles.relay]
base_url = "https://relay.example.com/v1"
protocol = "openai"                  # "openai" (chat completions) or "anthropic" (messages)
api_key_env = "RELAY_API_KEY"        # or api_key_cmd = "pass show relay", or api_key = "..."
default_model = "gpt-4.1-mini"
retries = 2
timeout = { connect = 5, read = 60, total = 600 }   # seconds; read = longest silence in a stream
billing = { currency = "CNY", per_usd = 1.0 }       # what 1 USD of list price costs you here
compare_to = { currency = "CNY", per_usd = 7.3 }    # what it would cost direct, for savings
fallback = ["anthropic"]             # profiles tried in order when this one is down
# headers = { "X-Team" = "search" }

[profiles.relay.aliases]             # name you type -> name sent on the wire
"sonnet" = "claude-sonnet-4-5"

# Anthropic's own API.
[profiles.anthropic]
base_url = "https://api.anthropic.com"
protocol = "anthropic"
api_key_env = "ANTHROPIC_API_KEY"
default_model = "claude-sonnet-4-5"
billing = { currency = "USD", per_usd = 1.0 }

# Prices in USD per 1M tokens override the built-in table:
# [prices."my-finetune"]
# input = 2.50
# output = 8.00
# cached_input = 0.50
"""


def write_atomic(path: Path, text: str, *, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def init(path: Path, *, force: bool = False) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", hint="use --force to replace it")
    write_atomic(path, STARTER)


def parse_value(raw: str) -> Any:
    """A TOML literal (3, 1.5, true, ["a"], {currency = "CNY"}) or, failing that, a plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _literal(value: Any) -> str:
    import tomli_w

    if isinstance(value, dict):
        return "{ " + ", ".join(f"{quote_key(k)} = {_literal(v)}" for k, v in value.items()) + " }"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _target(dotted: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """(table path, key, sub-keys) for ``default_profile``, ``profiles.NAME.KEY[.SUB]``,
    ``prices.MODEL.KEY``; names with dots or spaces are quoted: ``profiles."my.relay".retries``."""
    parts = key_path(dotted)
    if len(parts) >= 3 and parts[0] == "profiles":
        return parts[:2], parts[2], parts[3:]
    if len(parts) == 3 and parts[0] == "prices":
        return parts[:2], parts[2], ()
    if len(parts) == 1:
        return (), parts[0], ()
    raise ConfigError(f"cannot set {dotted!r}",
                      hint='use default_profile, profiles.NAME.KEY[.SUBKEY] or prices.MODEL.KEY; quote names '
                           'with dots: prices."gpt-4.1".input')


def set_value(path: Path, dotted: str, raw: str) -> str:
    """Set one value, editing only its line: the user's comments and layout stay."""
    table_path, key, sub = _target(dotted)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if sub and locate(text, table_name(*table_path, key)) is not None:
        # the file spells it as its own table ([profiles.NAME.timeout]): edit inside it
        table_path, key, sub = (*table_path, key), sub[0], sub[1:]
    table: Any = tomllib.loads(text) if text else {}
    for part in table_path:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    value: Any = parse_value(raw)
    if sub:
        current = table.get(key, {}) if isinstance(table, dict) else {}
        current = dict(current) if isinstance(current, dict) else {}
        node = current
        for part in sub[:-1]:
            node = node.setdefault(part, {})
        node[sub[-1]] = value
        value = current
    line = f"{quote_key(key)} = {_literal(value)}"
    section = table_name(*table_path)
    lines = text.splitlines()
    number = locate(text, section, key)
    header = locate(text, section) if section else None
    if number is not None:
        lines[number - 1] = line
    elif header is not None:
        lines.insert(header, line)
    elif section:
        lines += ["", f"[{section}]", line]
    else:
        first = next((i for i, text_line in enumerate(lines) if text_line.strip().startswith("[")), len(lines))
        lines.insert(first, line)
    new_text = "\n".join(lines) + "\n"
    _check(path, new_text)
    write_atomic(path, new_text)
    return line


def _check(path: Path, text: str) -> None:
    """Refuse a change that would leave a file the loader rejects."""
    try:
        parse(path, text)
    except ConfigError as exc:
        raise ConfigError(f"not changed: {exc.message}") from None
