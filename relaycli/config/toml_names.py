"""TOML names and lines: quoting keys, dotted table names, and finding the line a setting is on.

Standard library only; used by the loader (for messages), ``config set``/``unset`` and ``config show``.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any


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
    except (tomllib.TOMLDecodeError, RecursionError):
        return ()
    parts: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        ((name, node),) = node.items()
        parts.append(name)
    return tuple(parts)


HEADER = re.compile(r"^\s*\[(?!\[)(.*?)\]\s*(#.*)?$")
KEY_LINE = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def locate(text: str, section: str, key: str | None = None) -> int | None:
    """The 1-based line of ``key`` inside the table ``section`` (a dotted TOML name, "" for the top),
    or of the table's header when ``key`` is None. Best effort, for messages and edits."""
    wanted = key_path(section)
    in_section = not wanted
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            in_section = bool(wanted) and key_path(header.group(1)) == wanted
            if in_section and key is None:
                return number
            continue
        if in_section and key is not None:
            match = KEY_LINE.match(line)
            if match and key_path(match.group(1)) == (key,):
                return number
    return None
