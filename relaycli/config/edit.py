"""Writing the config file: the commented starter of ``relay config init``, ``relay config set`` and
``relay config unset``.

``set`` and ``unset`` edit only the lines they change, so the user's comments (also the one at the end
of the edited line) and layout survive, check the whole result with the same loader every command uses
(and that ``default_profile`` names a profile), and replace the file atomically, through a symlink.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from relaycli.config.lines import split_comment, table_blocks, value_extent
from relaycli.config.loader import Settings, parse
from relaycli.config.toml_names import key_path, locate, quote_key, table_name
from relaycli.config.writing import read_config, write_atomic
from relaycli.errors import ConfigError

__all__ = ["STARTER", "init", "parse_value", "set_value", "unset_value", "write_atomic"]

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


def init(path: Path, *, force: bool = False) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", hint="use --force to replace it")
    write_atomic(path, STARTER)


def parse_value(raw: str) -> Any:
    """A TOML literal (3, 1.5, true, ["a"], {currency = "CNY"}) or, failing that, a plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return raw


def _literal(value: Any) -> str:
    """``value`` as a one-line TOML literal (arrays and tables inline, so a later edit finds one line)."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{quote_key(k)} = {_literal(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    import tomli_w

    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _target(dotted: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """(table path, key, sub-keys) for ``default_profile``, ``profiles.NAME.KEY[.SUB]``,
    ``prices.MODEL[.KEY]``; names with dots or spaces are quoted: ``profiles."my.relay".retries``."""
    parts = key_path(dotted)
    if len(parts) >= 3 and parts[0] == "profiles":
        return parts[:2], parts[2], parts[3:]
    if len(parts) in (2, 3) and parts[0] == "prices":
        return parts[:-1], parts[-1], ()
    if len(parts) == 1:
        return (), parts[0], ()
    raise ConfigError(
        f"cannot set {dotted!r}",
        hint="use default_profile, profiles.NAME.KEY[.SUBKEY], prices.MODEL.KEY or "
        "prices.MODEL '{ input = 2.5, output = 8 }'; quote names with dots: "
        'prices."gpt-4.1".input',
    )


def _current(path: Path, text: str) -> dict[str, Any]:
    """The file as it is; a file the loader rejects already must be fixed (or re-created) first."""
    try:
        return tomllib.loads(text) if text else {}
    except (tomllib.TOMLDecodeError, RecursionError):
        parse(path, text)  # raises the loader's ConfigError, naming line and column
        raise


def _replace(lines: list[str], index: int, new: str) -> None:
    """Put ``new`` in place of the value starting at ``lines[index]``, keeping its indent and comment."""
    count = value_extent(lines, index)
    old_first, old_last = lines[index], lines[index + count - 1]
    indent = old_first[: len(old_first) - len(old_first.lstrip())]
    code, comment = split_comment(old_last)
    if comment and count == 1:  # keep the comment in its column when the new value leaves room
        column = len(code) + len(comment) - len(comment.lstrip())
        comment = " " * max(column - len(indent + new), 1) + comment.lstrip()
    lines[index : index + count] = [indent + new + comment]


def set_value(path: Path, dotted: str, raw: str) -> str:
    """Set one value, editing only its line: the user's comments and layout stay."""
    table_path, key, sub = _target(dotted)
    text = read_config(path)
    data = _current(path, text)
    if sub and locate(text, table_name(*table_path, key)) is not None:
        # the file spells it as its own table ([profiles.NAME.timeout]): edit inside it
        table_path, key, sub = (*table_path, key), sub[0], sub[1:]
    table: Any = data
    for part in table_path:
        table = table.get(part, {}) if isinstance(table, dict) else {}
    value: Any = parse_value(raw)
    if sub:
        current = table.get(key, {}) if isinstance(table, dict) else {}
        current = dict(current) if isinstance(current, dict) else {}
        node = current
        for part in sub[:-1]:
            child = node.get(part)
            node[part] = child = dict(child) if isinstance(child, dict) else {}
            node = child
        node[sub[-1]] = value
        value = current
    lines = text.splitlines()
    section = table_name(*table_path)
    own_table = table_name(*table_path, key)
    if (
        isinstance(value, dict)
        and value
        and locate(text, section, key) is None
        and (locate(text, own_table) is not None or table_path == ("prices",))
    ):
        # a whole table ([prices."m"] or [profiles.NAME.aliases]): one line per key inside it
        shown = _set_table(lines, own_table, value)
    else:
        shown = f"{quote_key(key)} = {_literal(value)}"
        _set_line(lines, section, key, shown)
    new_text = "\n".join(lines) + "\n"
    _check(path, new_text)
    write_atomic(path, new_text)
    return shown


def _set_line(lines: list[str], section: str, key: str, line: str) -> None:
    text = "\n".join(lines)
    number = locate(text, section, key)
    header = locate(text, section) if section else None
    if number is not None:
        _replace(lines, number - 1, line)
    elif header is not None:
        lines.insert(_section_end(lines, header), line)
    elif section:
        lines += ["", f"[{section}]", line]
    else:
        first = next((i for i, text_line in enumerate(lines) if text_line.strip().startswith("[")), len(lines))
        lines.insert(first, line)


def _section_end(lines: list[str], header: int) -> int:
    """The index just after the last setting of the table whose header is line ``header`` (1-based)."""
    end = header
    for index in range(header, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith("["):
            break
        if stripped and not stripped.startswith("#"):
            end = index + 1
    return end


def _set_table(lines: list[str], section: str, value: dict[str, Any]) -> str:
    for name, item in value.items():
        _set_line(lines, section, name, f"{quote_key(name)} = {_literal(item)}")
    return f"[{section}] " + ", ".join(f"{quote_key(k)} = {_literal(v)}" for k, v in value.items())


def unset_value(path: Path, dotted: str) -> str:
    """Remove one setting, or one table with the tables inside it; comments elsewhere stay."""
    parts = key_path(dotted)
    text = read_config(path)
    data = _current(path, text)
    if not parts or not _has(data, parts):
        where = str(path) if text else f"{path} (which does not exist yet)"
        raise ConfigError(
            f"no setting {dotted!r} in {where}",
            hint='`relay config show` lists them; quote names with dots: prices."gpt-4.1".input',
        )
    lines = text.splitlines()
    removed = _remove(lines, text, parts)
    new_text = "\n".join(lines).strip("\n") + "\n" if any(line.strip() for line in lines) else ""
    _check(path, new_text)
    write_atomic(path, new_text)
    return removed


def _has(data: Any, parts: tuple[str, ...]) -> bool:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _remove(lines: list[str], text: str, parts: tuple[str, ...]) -> str:
    blocks = table_blocks(lines, parts)
    if blocks:
        for start, end in reversed(blocks):
            del lines[start:end]
            while start < len(lines) and start > 0 and not lines[start].strip() and not lines[start - 1].strip():
                del lines[start]
        return f"[{table_name(*parts)}]"
    for split in range(len(parts) - 1, -1, -1):
        section, key, sub = table_name(*parts[:split]), parts[split], parts[split + 1 :]
        number = locate(text, section, key)
        if number is None:
            continue
        if not sub:
            del lines[number - 1 : number - 1 + value_extent(lines, number - 1)]
        else:
            value = tomllib.loads("\n".join(lines[number - 1 : number - 1 + value_extent(lines, number - 1)]))
            value = value[key]
            node = value
            for part in sub[:-1]:
                node = node[part]
            del node[sub[-1]]
            _replace(lines, number - 1, f"{quote_key(key)} = {_literal(value)}")
        return table_name(*parts)
    raise ConfigError(
        f"cannot remove {table_name(*parts)}: it is not on a line of its own", hint="edit the file by hand"
    )


def validate(path: Path, text: str) -> Settings:
    """What every later command would see: the loader's checks, and ``default_profile`` naming a profile."""
    settings = parse(path, text)
    default = settings.default_profile
    if default is not None and default not in settings.profiles:
        line = settings.line_of("", "default_profile")
        where = f"{path}, line {line}, column 1" if line else str(path)
        known = ", ".join(sorted(settings.profiles))
        raise ConfigError(f"{where}: default_profile: no profile named {default!r}; known profiles: {known}")
    return settings


def _check(path: Path, text: str) -> None:
    """Refuse a change that would leave a file the loader (or profile selection) rejects."""
    try:
        validate(path, text)
    except ConfigError as exc:
        raise ConfigError(f"not changed: {exc.message}", hint=exc.hint) from None
