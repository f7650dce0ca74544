"""Money in JSON and CSV: an exact decimal string (``"0.0000644"``), never a float or an exponent."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["decimal_string"]


def decimal_string(value: Decimal | None) -> str | None:
    """``Decimal("6.440E-5")`` -> ``"0.0000644"``, ``Decimal("100.00")`` -> ``"100"``; ``None`` stays."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text
