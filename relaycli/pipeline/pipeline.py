"""One request end to end: send (with the profile's fallbacks), hand deltas to the caller, price it,
and write its ledger row whatever happens: success, error, truncation, Ctrl-C or a closed stdout.

Commands (stream now, chat later) call ``send``; they only decide what to do with each delta.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from relaycli.datatypes import ChatRequest, Delta, Message, Result
from relaycli.errors import (
    EndpointError,
    NetworkError,
    RateLimited,
    RelayError,
    RelayTimeout,
    TruncatedResponse,
)
from relaycli.config.profile import Profile

if TYPE_CHECKING:
    from relaycli.context import AppContext


class OutputClosed(Exception):
    """The reader of our output went away (``relay stream ... | head -1``): a normal end."""


# Failures that make the next profile in ``fallback`` worth trying, if nothing was shown yet.
FALLBACK_ON = (NetworkError, RelayTimeout, RateLimited, EndpointError)


@dataclass(frozen=True, slots=True)
class Answer:
    result: Result
    profile: Profile
    model_asked: str
    cost_usd: Decimal | None
    billed: Decimal | None


@dataclass(frozen=True, slots=True)
class Ask:
    """What the user asked, before a profile turns it into a wire request."""

    model: str  # as typed: an alias or a model name
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    explicit: bool = True  # False: ``model`` is the first profile's default, and a fallback uses its own

    def model_for(self, profile: Profile) -> str:
        """The model (as typed) to ask ``profile`` for."""
        if self.explicit or not profile.default_model:
            return self.model
        return profile.default_model

    def for_profile(self, profile: Profile) -> ChatRequest:
        return ChatRequest(model=profile.resolve_model(self.model_for(profile)), messages=self.messages,
                           system=self.system, temperature=self.temperature, max_tokens=self.max_tokens,
                           stream=True)


def send(ctx: AppContext, profile: Profile, ask: Ask, on_delta: Callable[[Delta], None], *,
         command: str, tag: str | None = None) -> Answer:
    """Stream ``ask`` from ``profile`` (then its fallbacks), recording one ledger row per attempt."""
    candidates = [profile, *(ctx.named_profile(name) for name in profile.fallback)]
    for index, candidate in enumerate(candidates):
        shown = False

        def forward(delta: Delta) -> None:
            nonlocal shown
            shown = True
            on_delta(delta)

        try:
            return _send_one(ctx, candidate, ask, forward, command=command, tag=tag)
        except FALLBACK_ON as exc:
            if shown or index == len(candidates) - 1 or isinstance(exc, TruncatedResponse):
                raise
            ctx.note(f"profile {candidate.name!r} failed ({exc.message}); falling back to "
                     f"{candidates[index + 1].name!r}")
    raise AssertionError("unreachable")


def _send_one(ctx: AppContext, profile: Profile, ask: Ask, on_delta: Callable[[Delta], None], *,
              command: str, tag: str | None) -> Answer:
    key = ctx.key(profile)
    if profile.budget is not None:
        from relaycli.usage.budget import check_before

        check_before(ctx, profile)  # budget_action = "block": refuse before anything is sent
    request = ask.for_profile(profile)
    with ctx.client(profile, key) as client:
        stream = client.stream(request)
        outcome: str = "ok"
        error: RelayError | None = None
        try:
            for delta in stream:
                on_delta(delta)
        except TruncatedResponse as exc:
            outcome, error = "truncated", exc
            raise
        except RelayError as exc:
            outcome, error = "error", exc
            raise
        except (KeyboardInterrupt, OutputClosed):
            outcome = "interrupted"
            raise
        finally:
            stream.close()
            result = stream.result()
            row_cost = _record(ctx, command=command, profile=profile, model_asked=ask.model_for(profile),
                               result=result, outcome=outcome, error=error, tag=tag)
    return Answer(result=result, profile=profile, model_asked=ask.model_for(profile), cost_usd=row_cost[0],
                  billed=row_cost[1])


def _record(ctx: AppContext, *, command: str, profile: Profile, model_asked: str, result: Result,
            outcome: str, error: RelayError | None, tag: str | None) -> tuple[Decimal | None, Decimal | None]:
    """Write the ledger row; a ledger problem is a warning, never the reason a request fails."""
    from relaycli.pipeline.recording import build_row

    row = build_row(command=command, profile=profile, model_requested=model_asked, result=result,
                    outcome=outcome, error=error, prices=ctx.prices, tag=tag)
    try:
        ctx.ledger().record(row)
    except RelayError as exc:
        ctx.warn(f"usage not recorded: {exc.message}")
    except OSError as exc:
        ctx.warn(f"usage not recorded: {exc}")
    else:
        if profile.budget is not None:
            from relaycli.usage.budget import check_after

            check_after(ctx, profile, row)  # a warning when this request crossed 80 % or 100 %
    return row.cost_usd, row.cost_billed
