"""Writing the config file: the commented starter of ``relay config init`` and ``relay config set``.

``set`` edits the one line it changes, so the user's comments and layout survive, checks the result
with the same loader every command uses, and replaces the file atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from .config import load, locate
from .errors import ConfigError

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

    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip() if not isinstance(value, dict) else (
        "{ " + ", ".join(f"{_key(k)} = {_literal(v)}" for k, v in value.items()) + " }"
    )


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace('"', '\\"') + '"'


def set_value(path: Path, dotted: str, raw: str) -> str:
    """Set ``dotted`` (``default_profile``, ``profiles.NAME.KEY``, ``profiles.NAME.timeout.read``)."""
    parts = dotted.split(".")
    if parts[0] == "profiles" and len(parts) >= 3:
        section, key, sub = f"profiles.{parts[1]}", parts[2], parts[3:]
    elif parts[0] == "prices" and len(parts) == 3:
        section, key, sub = f'prices."{parts[1]}"', parts[2], []
    elif len(parts) == 1:
        section, key, sub = "", parts[0], []
    else:
        raise ConfigError(f"cannot set {dotted!r}",
                          hint="use default_profile, profiles.NAME.KEY[.SUBKEY] or prices.MODEL.KEY")
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    data = tomllib.loads(text) if text else {}
    table: Any = data
    for part in ([parts[0], parts[1]] if section else []):
        table = table.setdefault(part, {})
    value: Any = parse_value(raw)
    if sub:
        current = table.get(key, {})
        current = dict(current) if isinstance(current, dict) else {}
        node = current
        for part in sub[:-1]:
            node = node.setdefault(part, {})
        node[sub[-1]] = value
        value = current
    line = f"{_key(key)} = {_literal(value)}"
    lines = text.splitlines()
    number = locate(text, section, key)
    if number is not None:
        lines[number - 1] = line
    elif section and locate(text, section) is not None:
        lines.insert(locate(text, section) or 0, line)
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
    fd, tmp = tempfile.mkstemp(suffix=".toml")
    os.close(fd)
    try:
        Path(tmp).write_text(text, encoding="utf-8")
        try:
            load(Path(tmp))
        except ConfigError as exc:
            raise ConfigError(f"not changed: {str(exc).replace(tmp, str(path))}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
