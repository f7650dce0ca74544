"""Everything that draws with rich: tables for models, config and the ledger.

Imported only by commands that print tables, never at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table


def console(out: TextIO, *, isatty: bool) -> Console:
    return Console(file=out, force_terminal=isatty, no_color=not isatty, highlight=False,
                   soft_wrap=not isatty, width=None if isatty else 200)


def table(out: TextIO, *, isatty: bool, title: str | None, columns: Sequence[str],
          rows: Sequence[Sequence[str]], right: Sequence[str] = ()) -> None:
    """A table on a terminal; tab-separated lines with a header when piped (easy to cut/awk)."""
    if not isatty:
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(row) + "\n")
        return
    grid = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for name in columns:
        grid.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in rows:
        grid.add_row(*row)
    console(out, isatty=True).print(grid)
