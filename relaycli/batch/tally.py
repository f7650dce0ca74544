"""What a batch did so far: lines done, ok, cached and failed by class, tokens and cost; the one-line
summary at the end and the exit code (0 when every line succeeded, else the most common failure's)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from relaycli.usage.money import format_money

__all__ = ["Done", "Tally"]

INTERRUPTED = "Interrupted"  # the error class of a request cut short by Ctrl-C, SIGTERM or SIGHUP


@dataclass(frozen=True, slots=True)
class Done:
    """One finished line, as a worker hands it to the main loop."""

    seq: int
    line: str  # the encoded output line
    error_class: str | None = None  # None: success
    exit_code: int = 0
    cached: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: Decimal | None = None
    billed: Decimal | None = None
    currency: str = "USD"
    priced: bool = True  # False: a request whose cost is unknown (no price, or no usage reported)


@dataclass(slots=True)
class Tally:
    ok: int = 0
    cached: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # by error class
    codes: Counter[int] = field(default_factory=Counter)  # by exit code, in the order first seen
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: Decimal = Decimal(0)
    billed: dict[str, Decimal] = field(default_factory=dict)
    unpriced: int = 0

    def add(self, done: Done) -> None:
        if done.error_class is None:
            self.ok += 1
            self.cached += done.cached
        else:
            self.failed[done.error_class] += 1
            self.codes[done.exit_code] += 1
        self.prompt_tokens += done.prompt_tokens or 0
        self.completion_tokens += done.completion_tokens or 0
        if done.cost_usd is not None:
            self.usd += done.cost_usd
        if done.billed is not None:
            self.billed[done.currency] = self.billed.get(done.currency, Decimal(0)) + done.billed
        if not done.priced:
            self.unpriced += 1

    @property
    def done(self) -> int:
        return self.ok + self.errors

    @property
    def errors(self) -> int:
        return sum(self.failed.values())

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def exit_code(self) -> int:
        """0 when nothing failed, else the exit code most lines failed with (the first seen on a tie)."""
        if not self.codes:
            return 0
        return max(self.codes, key=lambda code: self.codes[code])  # max keeps the first of equals

    def cost(self) -> str:
        """What was billed so far, per billing currency (``¥0.17``, ``$0.02 + ¥0.17``)."""
        if not self.billed:
            return format_money(Decimal(0), "USD") if not self.unpriced else "unpriced"
        return " + ".join(format_money(amount, currency) for currency, amount in sorted(self.billed.items()))

    def summary(self, wall_s: float, *, skipped: int = 0, unsent: int = 0, stopped_by: str | None = None) -> str:
        """``batch: 1,000 lines in 6.4 s: 990 ok (12 cached), 10 failed (EndpointError 8, RateLimited 2);
        40,210 in / 39,600 out tokens; $0.0242``"""
        parts = [f"{self.ok:,} ok" + (f" ({self.cached:,} cached)" if self.cached else "")]
        failed = [(name, count) for name, count in self.failed.most_common() if name != INTERRUPTED]
        if failed:
            classes = ", ".join(f"{name} {count:,}" for name, count in failed)
            parts.append(f"{sum(count for _, count in failed):,} failed ({classes})")
        if self.failed[INTERRUPTED]:
            parts.append(f"{self.failed[INTERRUPTED]:,} interrupted")
        if skipped:
            parts.append(f"{skipped:,} done before (skipped)")
        if unsent:
            parts.append(f"{unsent:,} not sent")
        cost = self.cost()
        if self.billed.keys() - {"USD"}:
            cost += f" ({format_money(self.usd, 'USD')} list price)"
        if self.unpriced and self.billed:
            cost += f", {self.unpriced:,} unpriced"
        head = f"batch: {self.done:,} line{'s' if self.done != 1 else ''} in {wall_s:.1f} s"
        if stopped_by:
            head += f" (stopped by {stopped_by})"
        tokens = f"{self.prompt_tokens:,} in / {self.completion_tokens:,} out tokens"
        return f"{head}: {', '.join(parts)}; {tokens}; {cost}"
