"""Ledger rows as JSON-ready dicts (for ``relay log --json``): money as decimal strings, exact."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

from relaycli.ledger import LedgerRow
from relaycli.output.money import decimal_string


def log_rows(rows: list[LedgerRow]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = dataclasses.asdict(row)
        for key, value in item.items():
            if isinstance(value, Decimal):
                item[key] = decimal_string(value)
        item["usage_raw"] = json.loads(row.usage_raw) if row.usage_raw else None
        item["price_json"] = json.loads(row.price_json) if row.price_json else None
        out.append(item)
    return out
