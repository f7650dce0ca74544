"""Everything that draws with rich: tables for models, config and the ledger.

Imported only by commands that print tables, never at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text


def console(out: TextIO, *, isatty: bool) -> Console:
    return Console(file=out, force_terminal=isatty, no_color=not isatty, highlight=False,
                   soft_wrap=not isatty, width=None if isatty else 200)


def table(out: TextIO, *, isatty: bool, title: str | None, columns: Sequence[str],
          rows: Sequence[Sequence[str]], right: Sequence[str] = (), whole: Sequence[str] = ()) -> None:
    """A table on a terminal; tab-separated lines with a header when piped (easy to cut/awk).

    Columns in ``right`` are right-aligned numbers; they and those in ``whole`` never break across lines."""
    if not isatty:
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(row) + "\n")
        return
    grid = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for name in columns:
        keep = name in right or name in whole  # numbers, money and times are never broken across lines
        grid.add_column(name, justify="right" if name in right else "left", no_wrap=keep,
                        overflow="ellipsis" if keep else "fold")
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))  # cells are data, never rich markup
    console(out, isatty=True).print(grid)


def sectioned_table(out: TextIO, *, isatty: bool, title: str | None, columns: Sequence[str],
                    rows: Sequence[Sequence[str]], right: Sequence[str] = (), sections: Sequence[int] = (),
                    bold: Sequence[int] = ()) -> bool:
    """Like :func:`table`, with a gap above each row index in ``sections`` and the rows in ``bold`` bold.

    Cells are never cut: a table wider than the terminal is drawn at its full width (and the terminal
    wraps it). Returns whether that happened, so the caller can suggest a narrower layout.
    """
    if not isatty:
        table(out, isatty=False, title=title, columns=columns, rows=rows)
        return False
    from rich import box

    grid = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False,
                 show_edge=False, collapse_padding=True)
    for name in columns:
        grid.add_column(name, justify="right" if name in right else "left", no_wrap=True)
    for index, row in enumerate(rows):
        grid.add_row(*(Text(cell) for cell in row), end_section=index + 1 in sections,
                     style="bold" if index in bold else None)
    screen = console(out, isatty=True)
    needed = screen.measure(grid, options=screen.options.update_width(10_000)).maximum
    if needed > screen.width:
        screen = Console(file=out, force_terminal=True, highlight=False, width=needed)
    screen.print(grid)
    return needed > console(out, isatty=True).width
