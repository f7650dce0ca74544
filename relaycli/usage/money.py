"""Formatting amounts of money for people. Pure; the amounts themselves stay exact Decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

SYMBOLS = {"USD": "$", "CNY": "¥", "JPY": "¥", "EUR": "€", "GBP": "£", "KRW": "₩", "INR": "₹", "RUB": "₽"}


def format_money(amount: Decimal | None, currency: str) -> str:
    """``$1,234.56``; small amounts keep enough digits to be seen (``$0.000071``)."""
    if amount is None:
        return "unpriced"
    symbol = SYMBOLS.get(currency.upper())
    prefix = symbol if symbol else f"{currency.upper()} "
    magnitude = abs(amount)
    if magnitude == 0 or magnitude >= 1:
        places = Decimal("0.01")
    elif magnitude >= Decimal("0.01"):
        places = Decimal("0.0001")
    else:
        places = Decimal("0.000001")
    shown = amount.quantize(places, rounding=ROUND_HALF_EVEN)
    if shown == 0 and amount != 0:
        return f"<{prefix}0.000001"
    sign = "-" if shown < 0 else ""
    return f"{sign}{prefix}{abs(shown):,}"
