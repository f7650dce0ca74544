"""Checks shared by several commands' options (typer only accepts what its types say)."""

from __future__ import annotations

import math

import typer


def finite(value: float | None) -> float | None:
    """Refuse ``nan`` and ``inf`` (typer's float and its min/max let them through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value
