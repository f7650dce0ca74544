"""Everything that draws with rich: tables for models, config and the ledger.

Imported only by commands that print tables, never at start-up. A table that is wider than the
terminal is fitted by :func:`relaycli.output.fit.layout` from the caller's hints: free text is
shortened and the least important columns are left out (and the user told so), while names, ids,
numbers, money and times are never cut or broken across lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from relaycli.output.fit import Layout, layout

__all__ = ["console", "dropped_message", "sectioned_table", "table"]

_GAP = 2  # cells between two columns, with or without the section rules


def console(out: TextIO, *, isatty: bool) -> Console:
    return Console(
        file=out,
        force_terminal=isatty,
        no_color=not isatty,
        highlight=False,
        soft_wrap=not isatty,
        width=None if isatty else 200,
    )


def dropped_message(dropped: Sequence[str], width: int) -> str:
    """What was left out: the longest of these that fits on one line of ``width`` (after "relay: ")."""
    count = len(dropped)
    head = f"{count} column{'s' if count != 1 else ''} left out to fit {width} columns"
    tiers = [
        f"{head} ({', '.join(dropped)}; --json for all)",
        f"{head} (wider terminal or --json for all)",
        f"{head} (--json for all)",
    ]
    return next((text for text in tiers if len(text) + len("relay: ") <= width), tiers[-1])


def _tsv(out: TextIO, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    out.write("\t".join(columns) + "\n")
    for row in rows:
        out.write("\t".join(row) + "\n")


def _fitted(
    screen: Console,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    shorten: Sequence[str],
    wrap: Sequence[str],
    drop: Sequence[str],
) -> tuple[Layout, Console]:
    """The layout for ``screen``'s width, and the console to draw it on (wider, if nothing else fits)."""
    fit = layout(columns, rows, width=screen.width, gap=_GAP, shorten=shorten, wrap=wrap, drop=drop, measure=cell_len)
    if not fit.fits(screen.width):  # only names and numbers are left: draw them whole, the terminal wraps
        screen = Console(file=screen.file, force_terminal=True, highlight=False, width=fit.needed)
    return fit, screen


def _tell(note: Callable[[str], None] | None, grid: Table, dropped: Sequence[str], width: int) -> None:
    if not dropped:
        return
    if note is not None:
        note(dropped_message(dropped, width))
    else:
        grid.caption, grid.caption_justify, grid.caption_style = dropped_message(dropped, width), "left", "dim"


def table(
    out: TextIO,
    *,
    isatty: bool,
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[str] = (),
    whole: Sequence[str] = (),
    shorten: Sequence[str] = (),
    drop: Sequence[str] = (),
    note: Callable[[str], None] | None = None,
) -> list[str]:
    """A table on a terminal; tab-separated lines with a header when piped (easy to cut/awk).

    Columns in ``right`` are right-aligned numbers; they and those in ``whole`` are never cut or broken.
    Those in ``shorten`` may be cut with an ellipsis; any other column may wrap. ``drop`` names the
    columns that may be left out when the terminal is too narrow, the least important first; ``note``
    (else a caption under the table) says which were. Returns the names of the columns left out.
    """
    if not isatty:
        _tsv(out, columns, rows)
        return []
    terminal = console(out, isatty=True)
    wrap = [c for c in columns if c not in right and c not in whole and c not in shorten]
    fit, screen = _fitted(terminal, columns, rows, shorten=shorten, wrap=wrap, drop=drop)
    grid = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for i in fit.keep:
        name = columns[i]
        grid.add_column(
            name,
            justify="right" if name in right else "left",
            width=fit.widths[i],
            no_wrap=name not in wrap,
            overflow="fold" if name in wrap else "ellipsis",
        )
    for row in rows:
        grid.add_row(*(Text(row[i]) for i in fit.keep))  # cells are data, never rich markup
    _tell(note, grid, fit.dropped, terminal.width)
    screen.print(grid)
    return fit.dropped


def sectioned_table(
    out: TextIO,
    *,
    isatty: bool,
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[str] = (),
    sections: Sequence[int] = (),
    bold: Sequence[int] = (),
    drop: Sequence[str] = (),
    note: Callable[[str], None] | None = None,
) -> bool:
    """Like :func:`table`, with a gap above each row index in ``sections`` and the rows in ``bold`` bold.

    Cells are never cut: the columns in ``drop`` are left out when that makes the table fit (``note``
    says so); a table that cannot fit is drawn whole at its full width (and the terminal wraps it).
    Returns whether that happened, so the caller can suggest a narrower layout.
    """
    if not isatty:
        _tsv(out, columns, rows)
        return False
    from rich import box

    terminal = console(out, isatty=True)
    fit, screen = _fitted(terminal, columns, rows, shorten=(), wrap=(), drop=drop)
    if not fit.fits(terminal.width):  # leaving columns out does not help: all of them (--compact helps)
        fit, screen = _fitted(terminal, columns, rows, shorten=(), wrap=(), drop=())
    grid = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for i in fit.keep:
        grid.add_column(
            columns[i], justify="right" if columns[i] in right else "left", no_wrap=True, width=fit.widths[i]
        )
    for index, row in enumerate(rows):
        grid.add_row(
            *(Text(row[i]) for i in fit.keep),
            end_section=index + 1 in sections,
            style="bold" if index in bold else None,
        )
    _tell(note, grid, fit.dropped, terminal.width)
    screen.print(grid)
    return not fit.fits(terminal.width)
