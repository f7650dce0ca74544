"""``relay batch --dry-run``: how many requests a batch would send, about how many input tokens (characters
/ 4), and what it could cost at list price: from the input alone (low) to the input plus every line's
``max_tokens`` of output (high; ``ASSUMED_OUTPUT`` for a line without one). Nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from relaycli.batch.input import BadLine, Item
from relaycli.config.profile import Profile
from relaycli.usage.money import format_money
from relaycli.usage.prices import Price, PriceTable, billed

__all__ = ["ASSUMED_OUTPUT", "Estimate", "estimate", "report"]

ASSUMED_OUTPUT = 1024  # output tokens counted for a line without max_tokens
_MILLION = Decimal(1_000_000)


@dataclass(slots=True)
class ModelEstimate:
    price: Price | None
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0  # at most

    @property
    def low(self) -> Decimal | None:
        return None if self.price is None else self.input_tokens * self.price.input / _MILLION

    @property
    def high(self) -> Decimal | None:
        low = self.low
        return None if low is None or self.price is None else low + self.output_tokens * self.price.output / _MILLION


@dataclass(slots=True)
class Estimate:
    models: dict[str, ModelEstimate] = field(default_factory=dict)
    assumed: int = 0  # lines without max_tokens
    bad: list[BadLine] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.models.values())


def estimate(entries: Iterable[Item | BadLine], profile: Profile, prices: PriceTable) -> Estimate:
    est = Estimate()
    for entry in entries:
        if isinstance(entry, BadLine):
            est.bad.append(entry)
            continue
        ask = entry.ask
        wire = profile.resolve_model(ask.model_for(profile))
        model = est.models.get(wire)
        if model is None:
            model = est.models[wire] = ModelEstimate(prices.lookup(wire) or prices.lookup(ask.model_for(profile)))
        chars = len(ask.system or "") + sum(len(m.content) for m in ask.messages)
        model.requests += 1
        model.input_tokens += -(-chars // 4)
        if ask.max_tokens is None:
            est.assumed += 1
        model.output_tokens += ask.max_tokens or ASSUMED_OUTPUT
    return est


def report(est: Estimate, profile: Profile, *, skipped: int = 0) -> list[str]:
    """The estimate as lines of text (for stdout)."""
    priced = [m for m in est.models.values() if m.price is not None]
    tokens_in = sum(m.input_tokens for m in est.models.values())
    tokens_out = sum(m.output_tokens for m in est.models.values())
    done = f" ({skipped:,} done before, not counted)" if skipped else ""
    lines = [
        f"dry run, nothing sent: {est.requests:,} request{'s' if est.requests != 1 else ''} to {profile.name}{done}"
    ]
    lines.append(f"input: ~{tokens_in:,} tokens (characters / 4)")
    assumed = f"; {est.assumed:,} without one counted at {ASSUMED_OUTPUT:,}" if est.assumed else ""
    lines.append(f"output: at most {tokens_out:,} tokens (each line's max_tokens{assumed})")
    if priced:
        low = sum((m.low or Decimal(0) for m in priced), Decimal(0))
        high = sum((m.high or Decimal(0) for m in priced), Decimal(0))
        lines.append(f"cost: {_range(low, high, profile)} at list price; answers in the response cache cost nothing")
    for name, m in sorted(est.models.items()):
        cost = _range(m.low, m.high, profile) if m.price is not None else "unpriced (no price in the table)"
        requests = f"{m.requests:,} request{'s' if m.requests != 1 else ''}"
        lines.append(f"  {name}: {requests}, ~{m.input_tokens:,} in, up to {m.output_tokens:,} out, {cost}")
    for bad in est.bad[:5]:
        lines.append(f"not sendable: {bad.error.message}")
    if len(est.bad) > 5:
        lines.append(f"not sendable: {len(est.bad) - 5:,} more lines")
    return lines


def _range(low: Decimal | None, high: Decimal | None, profile: Profile) -> str:
    if low is None or high is None:
        return "unpriced"
    text = f"{format_money(low, 'USD')} to {format_money(high, 'USD')}"
    b = profile.billing
    if b.currency != "USD" or b.per_usd != 1:
        text += f" ({format_money(billed(low, b), b.currency)} to {format_money(billed(high, b), b.currency)} billed)"
    return text
