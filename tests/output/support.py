"""A terminal that is a string: what a table drew at a given width, and checks on what it shows."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import pytest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """A stdout that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def screen_lines(text: str) -> list[str]:
    return [line.rstrip() for line in ANSI.sub("", text).splitlines()]


def use_width(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.delenv("LINES", raising=False)


def assert_fits(lines: Sequence[str], width: int) -> None:
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, f"wider than {width}: {too_wide}"


def header_names(lines: Sequence[str], first: str) -> tuple[int, list[str]]:
    """The header line's index and the names of the columns shown (two or more spaces apart)."""
    index = next(i for i, line in enumerate(lines) if re.split(r"\s{2,}", line.strip())[0] == first)
    return index, re.split(r"\s{2,}", lines[index].strip())


def assert_whole(lines: Sequence[str], rows: Sequence[Mapping[str, str]], *, keep: Sequence[str]) -> list[str]:
    """Every row is one line that holds, in order, the cells of ``rows`` whose columns are shown, whole;
    the columns in ``keep`` are shown. Returns the names of the columns shown."""
    start, shown = header_names(lines, keep[0])
    assert set(keep) <= set(shown), (keep, shown)
    body = [line for line in lines[start + 1 :] if line.strip(" ─")][: len(rows)]
    assert len(body) == len(rows), lines
    for line, cells in zip(body, rows, strict=True):
        at = 0
        for name in shown:
            if name not in cells:
                continue
            found = line.find(cells[name], at)
            assert found >= 0, f"{name}: {cells[name]!r} is not whole in {line!r}"
            at = found + len(cells[name])
    return shown
