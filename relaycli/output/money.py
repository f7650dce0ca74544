"""Money in JSON and CSV: an exact decimal string (``"0.0000644"``), never a float or an exponent."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["decimal_string"]


def decimal_string(value: Decimal | None) -> str | None:
    """``Decimal("6.440E-5")`` -> ``"0.0000644"``, ``Decimal("100.00")`` -> ``"100"``; ``None`` stays."""
    return None if value is None else format(value.normalize(), "f")
