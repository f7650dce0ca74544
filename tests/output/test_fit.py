"""The layout of a table that is wider than the terminal: shorten free text, drop the least important."""

from __future__ import annotations

from relaycli.output.fit import MIN_SHORT, layout

COLUMNS = ["name", "error", "a", "b"]
ROWS = [["a-long-profile-name", "x" * 60, "1,234", "5,678"]]


def test_a_table_that_fits_is_left_alone() -> None:
    fit = layout(COLUMNS, ROWS, width=200, shorten=["error"], drop=["a"])
    assert fit.keep == [0, 1, 2, 3] and fit.dropped == [] and fit.widths[1] == 60


def test_free_text_is_shortened_before_anything_is_dropped() -> None:
    fit = layout(COLUMNS, ROWS, width=60, shorten=["error"], drop=["a", "b"])
    assert fit.dropped == [] and fit.needed == 60 and fit.widths[0] == 19 and fit.widths[2] == 5


def test_columns_are_dropped_in_order_and_spare_width_goes_back() -> None:
    fit = layout(COLUMNS, ROWS, width=40, shorten=["error"], drop=["b", "a"])
    assert fit.dropped == ["b"] and fit.keep == [0, 1, 2]
    assert fit.widths[1] == 40 - 19 - 5 - 4 and fit.needed == 40


def test_names_are_never_cut_and_the_first_column_never_dropped() -> None:
    fit = layout(COLUMNS, ROWS, width=10, shorten=["error"], drop=["name", "a", "b"])
    assert fit.keep == [0, 1] and fit.widths == {0: 19, 1: MIN_SHORT} and not fit.fits(10)
