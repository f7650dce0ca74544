"""Checks shared by several commands' options (typer only accepts what its types say)."""

from __future__ import annotations

import math

import typer


def finite(value: float | None) -> float | None:
    """Refuse ``nan`` and ``inf`` (typer's float and its min/max let them through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


# Body fields relay itself writes: ``-o`` may not replace them (``-m``, ``-s`` and the prompt say those).
RESERVED_PARAMS = frozenset({"model", "messages", "stream", "stream_options", "system"})


def body_params(values: list[str] | None) -> dict[str, object]:
    """``-o NAME=VALUE`` options as body fields. VALUE is read as JSON when it is JSON (``0.9``, ``true``,
    ``["\\n\\n"]``, ``{"type": "json_object"}``) and as text otherwise (``-o reasoning_effort=low``)."""
    import json

    params: dict[str, object] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="'-o' / '--param'")
        if name in RESERVED_PARAMS:
            raise typer.BadParameter(
                f"{name!r} is set by relay itself (use -m, -s and the prompt)", param_hint="'-o' / '--param'"
            )
        try:
            value: object = json.loads(raw, parse_constant=_no_constant)
        except ValueError:
            value = raw
        params[name] = value
    return params


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")
