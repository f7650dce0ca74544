"""Which columns of a table fit a terminal, and how wide each one is. Pure: no rich, no I/O.

Every column is one of four kinds, named by the caller:

* ``whole``: names, ids, numbers, money and times. Never cut, never broken across lines.
* ``shorten``: free text (an error message, a title) that may be cut with an ellipsis, down to
  :data:`MIN_SHORT` cells (or its header).
* ``wrap``: free text that may break across lines, down to :data:`MIN_SHORT` cells.
* ``drop``: any column (other than the first) may also be left out; ``drop`` lists them, the first
  to go first.

A table that is too wide first gives up the width of its ``shorten`` and ``wrap`` columns, then loses
its ``drop`` columns one by one until it fits; width left over goes back to the shortened columns.
When even that is not enough the remaining columns keep their full width (the caller draws them wider
than the terminal rather than break a name).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["MIN_SHORT", "Layout", "layout"]

MIN_SHORT = 10


@dataclass(frozen=True, slots=True)
class Layout:
    keep: list[int]  # indices of the columns shown, in their order
    widths: dict[int, int]  # the width of every shown column
    dropped: list[str]  # names of the columns left out, in table order
    needed: int  # the width of the table as laid out

    def fits(self, width: int) -> bool:
        return self.needed <= width


def layout(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int,
    gap: int = 2,
    shorten: Sequence[str] = (),
    wrap: Sequence[str] = (),
    drop: Sequence[str] = (),
    measure: Callable[[str], int] = len,
) -> Layout:
    """Lay out ``columns`` (with ``rows`` of text) in ``width`` cells, ``gap`` cells between columns."""
    natural = [max([measure(name), *(measure(row[i]) for row in rows)]) for i, name in enumerate(columns)]
    flexible = {i for i, name in enumerate(columns) if name in shorten or name in wrap}
    floor = {i: min(natural[i], max(MIN_SHORT, measure(columns[i]))) for i in flexible}
    keep = list(range(len(columns)))
    order = [columns.index(name) for name in drop if name in columns and columns.index(name) != 0]

    def total(shown: list[int], sizes: dict[int, int]) -> int:
        return sum(sizes[i] for i in shown) + gap * max(0, len(shown) - 1)

    smallest = {i: floor.get(i, natural[i]) for i in keep}
    while total(keep, smallest) > width and order:
        keep.remove(order.pop(0))
    widths = {i: smallest[i] for i in keep}
    spare = width - total(keep, widths)
    for i in sorted((i for i in keep if i in flexible), key=lambda i: natural[i]):  # narrowest first
        if spare <= 0:
            break
        grow = min(natural[i] - widths[i], spare)
        widths[i] += grow
        spare -= grow
    dropped = [columns[i] for i in range(len(columns)) if i not in keep]
    return Layout(keep=keep, widths=widths, dropped=dropped, needed=total(keep, widths))
