"""The line structure of a TOML file, for edits that touch only what they change: where a value
ends (it may span lines), the comment at the end of a line, and the lines a table occupies."""

from __future__ import annotations

import tomllib

from relaycli.config.toml_names import HEADER, key_path


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment): the comment with the spaces before it (``"  # why"``), or ``""``."""
    quote: str | None = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote == '"' and ch == "\\":
            i += 2
            continue
        if quote is None and ch in "\"'":
            quote = ch
        elif ch == quote:
            quote = None
        elif quote is None and ch == "#":
            code = line[:i].rstrip()
            return code, line[len(code) :]
        i += 1
    return line, ""


def value_extent(lines: list[str], index: int) -> int:
    """How many lines the ``key = value`` starting at ``lines[index]`` spans (a multi-line array,
    inline table or string); 1 when it cannot tell."""
    for count in range(1, min(len(lines) - index, 1000) + 1):
        try:
            tomllib.loads("\n".join(lines[index : index + count]))
        except (tomllib.TOMLDecodeError, RecursionError):
            continue
        return count
    return 1


def table_blocks(lines: list[str], parts: tuple[str, ...]) -> list[tuple[int, int]]:
    """The 0-based ``[start, end)`` line ranges of the table ``parts`` and of the tables inside it
    (``[profiles.a]`` and ``[profiles.a.aliases]``), each from its header to the next header."""
    blocks: list[tuple[int, int]] = []
    start: int | None = None
    for number, line in enumerate(lines):
        header = HEADER.match(line)
        if not header and not line.lstrip().startswith("[["):
            continue
        if start is not None:
            blocks.append((start, _trim(lines, start, number)))
            start = None
        name = key_path(header.group(1)) if header else ()
        if name[: len(parts)] == parts:
            start = number
    if start is not None:
        blocks.append((start, len(lines)))
    return blocks


def _trim(lines: list[str], start: int, end: int) -> int:
    """Leave the blank lines and comments just before the next header to that header."""
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end
