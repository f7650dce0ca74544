"""Pieces shared by the wire-format modules (``openai.py``, ``anthropic.py``). Pure, standard library only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..datatypes import Usage
from ..errors import EndpointError


@dataclass(frozen=True, slots=True)
class Completion:
    """A parsed non-streaming response."""

    text: str
    model: str | None
    finish_reason: str | None
    usage: Usage
    response_id: str | None = None
    reasoning: str = ""


def as_int(value: Any) -> int | None:
    """A token count, or None when absent or not a number (bools are not counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def short(text: str, limit: int = 120) -> str:
    """One line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def load_json_object(data: str, *, what: str) -> dict[str, Any]:
    """Parse one JSON object from the endpoint; anything else is a malformed response."""
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise EndpointError(
            f"malformed {what} from the endpoint (not JSON): {short(data) or '(empty)'!r}"
        ) from exc
    if not isinstance(obj, dict):
        raise EndpointError(f"malformed {what} from the endpoint (not a JSON object): {short(data)!r}")
    return obj
