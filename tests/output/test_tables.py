"""Tables show data literally and keep numbers whole."""

from __future__ import annotations

import io
import re

import pytest

from relaycli.output.tables import table


def test_cells_are_never_rich_markup() -> None:
    out = io.StringIO()
    table(
        out,
        isatty=True,
        title=None,
        columns=["title", "cost"],
        rows=[["[/x] closing [red]tag[/red]", "$0.000002"]],
        right=["cost"],
    )
    assert "[/x] closing [red]tag[/red]" in out.getvalue()


def test_numbers_do_not_wrap_on_narrow_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    table(
        out,
        isatty=True,
        title=None,
        columns=["model", "what", "cost"],
        rows=[["a-rather-long-model-name-here", "something rather long too", "$0.000002"]],
        right=["cost"],
    )
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()
    assert max(len(line) for line in lines) <= 40 and len(lines) > 2  # it did have to wrap
    assert "$0.000002" in out.getvalue()
